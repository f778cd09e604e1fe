import { parse, TomlError } from "smol-toml";
import { coerceText } from "./coerce.ts";
import { ConfigError, type ConfigIssue, type ConfigSource, closest } from "./errors.ts";
import { CONFIG_KEYS, type KeyInfo, SECTIONS } from "./schema.ts";
import { REEXEC_MARK_ENV } from "./start-plan.ts";

/**
 * A layer is a set of key assignments from one place (defaults, a file, the
 * environment, the command line). Reading a layer checks names only; the
 * values are checked by the schema after all layers are merged, and every
 * problem is reported against the layer that set the value.
 */
export interface Assignment {
  key: KeyInfo;
  value: unknown;
  source: ConfigSource;
}

export interface Layer {
  assignments: Assignment[];
  issues: ConfigIssue[];
}

/** A value set from the command line or by a program (init, testnet). Strings are converted like env values. */
export interface Override {
  /** "section.key" */
  key: string;
  value: string | number | boolean | readonly string[];
  /** How it was given, e.g. "--moniker" or "--set node.moniker=a"; shown in errors. */
  source?: string;
}

/** VALIDATOR_* variables that are not config keys. */
export const NON_CONFIG_ENV_VARS: ReadonlySet<string> = new Set([
  // the node's home directory (read by the CLI)
  "VALIDATOR_HOME",
  // where .ci/run installs Node 24
  "VALIDATOR_NODE_DIR",
  // marks the process validator start re-executed with its start-up settings (node/config/start-plan.ts)
  REEXEC_MARK_ENV,
]);

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function unknownKeyIssue(section: string, key: string, source: ConfigSource, value: unknown): ConfigIssue {
  const keysOfSection = [...CONFIG_KEYS.values()].filter((k) => k.section === section).map((k) => k.key);
  const guess = closest(key, keysOfSection);
  return {
    key: `${section}.${key}`,
    value,
    source,
    problem: `unknown key${guess ? ` (did you mean ${section}.${guess}?)` : ""}`,
    allowed: `keys of [${section}]: ${keysOfSection.join(", ")}`,
  };
}

function unknownSectionIssue(section: string, source: ConfigSource): ConfigIssue {
  const guess = closest(section, SECTIONS);
  return {
    key: `[${section}]`,
    source,
    problem: `unknown section${guess ? ` (did you mean [${guess}]?)` : ""}`,
    allowed: `sections ${SECTIONS.map((s) => `[${s}]`).join(" ")}`,
  };
}

/** Checks the shape of a parsed TOML document: known sections holding known keys. */
export function layerFromToml(text: string, source: ConfigSource): Layer {
  const layer: Layer = { assignments: [], issues: [] };
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (err) {
    const where = err instanceof TomlError ? ` at line ${err.line}, column ${err.column}` : "";
    const first = (err as Error).message.split("\n")[0];
    layer.issues.push({ key: "(document)", source, problem: `not valid TOML${where}: ${first}` });
    return layer;
  }
  for (const [section, body] of Object.entries(doc)) {
    if (!SECTIONS.includes(section)) {
      if (isTable(body)) layer.issues.push(unknownSectionIssue(section, source));
      else
        layer.issues.push({
          key: section,
          value: body,
          source,
          problem: "keys must be inside a section",
          allowed: `sections ${SECTIONS.map((s) => `[${s}]`).join(" ")}`,
        });
      continue;
    }
    if (!isTable(body)) {
      layer.issues.push({ key: section, value: body, source, problem: `must be a section [${section}], not a value` });
      continue;
    }
    for (const [key, value] of Object.entries(body)) {
      const info = CONFIG_KEYS.get(`${section}.${key}`);
      if (info) layer.assignments.push({ key: info, value, source });
      else layer.issues.push(unknownKeyIssue(section, key, source, value));
    }
  }
  return layer;
}

const KEYS_BY_ENV_VAR = new Map([...CONFIG_KEYS.values()].map((k) => [k.envVar, k]));

/** VALIDATOR_<SECTION>_<KEY> variables; any other VALIDATOR_* variable is a typo and an error. */
export function layerFromEnv(env: Readonly<Record<string, string | undefined>>): Layer {
  const layer: Layer = { assignments: [], issues: [] };
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith("VALIDATOR_") || text === undefined || NON_CONFIG_ENV_VARS.has(name)) continue;
    const source: ConfigSource = { kind: "env", label: `env ${name}` };
    const info = KEYS_BY_ENV_VAR.get(name);
    if (!info) {
      const guess = closest(name, KEYS_BY_ENV_VAR.keys());
      layer.issues.push({
        key: name,
        value: text,
        source,
        problem: `no config key has this variable${guess ? ` (did you mean ${guess}?)` : ""}`,
        allowed:
          "VALIDATOR_<SECTION>_<KEY> with the key in SCREAMING_SNAKE_CASE, e.g. VALIDATOR_CONSENSUS_VIEW_TIMEOUT_MS",
      });
      continue;
    }
    const coerced = coerceText(text, info.kind);
    if (coerced.ok) layer.assignments.push({ key: info, value: coerced.value, source });
    else layer.issues.push({ key: info.name, value: text, source, problem: coerced.problem, allowed: info.allowed });
  }
  return layer;
}

export function layerFromOverrides(overrides: readonly Override[]): Layer {
  const layer: Layer = { assignments: [], issues: [] };
  for (const o of overrides) {
    const source: ConfigSource = { kind: "flag", label: `flag ${o.source ?? `--set ${o.key}`}` };
    const info = CONFIG_KEYS.get(o.key);
    if (!info) {
      const [section = "", ...rest] = o.key.split(".");
      const key = rest.join(".");
      if (SECTIONS.includes(section) && key !== "") layer.issues.push(unknownKeyIssue(section, key, source, o.value));
      else {
        const guess = closest(o.key, CONFIG_KEYS.keys());
        layer.issues.push({
          key: o.key,
          value: o.value,
          source,
          problem: `unknown key${guess ? ` (did you mean ${guess}?)` : ""}`,
          allowed: "section.key, e.g. consensus.viewTimeoutMs",
        });
      }
      continue;
    }
    if (typeof o.value === "string") {
      const coerced = coerceText(o.value, info.kind);
      if (coerced.ok) layer.assignments.push({ key: info, value: coerced.value, source });
      else
        layer.issues.push({ key: info.name, value: o.value, source, problem: coerced.problem, allowed: info.allowed });
    } else {
      layer.assignments.push({ key: info, value: Array.isArray(o.value) ? [...o.value] : o.value, source });
    }
  }
  return layer;
}

/** Parses repeated `--set section.key=value` arguments; a malformed one is a ConfigError naming it. */
export function parseSetFlags(texts: readonly string[]): Override[] {
  const issues: ConfigIssue[] = [];
  const overrides: Override[] = [];
  for (const text of texts) {
    const eq = text.indexOf("=");
    const key = eq < 0 ? text : text.slice(0, eq);
    if (eq < 0 || !/^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/.test(key)) {
      issues.push({
        key: key || "(empty)",
        value: text,
        source: { kind: "flag", label: `flag --set ${text}` },
        problem: "--set expects section.key=value",
        allowed: "e.g. --set consensus.viewTimeoutMs=2000 (lists comma-separated)",
      });
    } else overrides.push({ key, value: text.slice(eq + 1), source: `--set ${text}` });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return overrides;
}
