import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import { ConfigError, type ConfigIssue, type ConfigSource } from "./errors.ts";
import {
  type Assignment,
  type Layer,
  layerFromEnv,
  layerFromOverrides,
  layerFromToml,
  type Override,
} from "./layers.ts";
import { CONFIG_KEYS, type Config, ConfigSchema } from "./schema.ts";

/** The shipped defaults: the only place a default value is written down. */
export const DEFAULTS_FILE = fileURLToPath(new URL("../../config/default.toml", import.meta.url));
/** Name of the config file inside a home. */
export const CONFIG_FILE_NAME = "config.toml";

export interface LoadConfigOptions {
  /** The node's home directory; the config file is looked up there. */
  home: string;
  /**
   * Config file. Absent: `<home>/config.toml` when it exists, else defaults
   * only. A path: that file, which must exist. null: no file at all.
   */
  file?: string | null;
  /** Environment (process.env); VALIDATOR_<SECTION>_<KEY> variables apply. Absent: none. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Command-line values, applied last. */
  overrides?: readonly Override[];
}

/** A config file is a few KiB; anything this large is the wrong file. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

function readText(path: string, what: string): string {
  let text: Buffer;
  try {
    if (statSync(path).size > MAX_CONFIG_FILE_BYTES) {
      throw new Error(`larger than ${MAX_CONFIG_FILE_BYTES} bytes; is this the right file?`);
    }
    text = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return text.toString("utf8");
}

function describeProblem(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.expected === "int" && typeof value === "number") return "not a whole number";
      return `wrong type: expected ${issue.expected}, got ${Array.isArray(value) ? "array" : value instanceof Date ? "date" : typeof value}`;
    case "too_big":
      return issue.origin === "array" ? "too many entries" : "too large";
    case "too_small":
      return issue.origin === "array" ? "too few entries" : "too small";
    case "invalid_value":
      return "not an allowed value";
    case "not_multiple_of":
      return "not a whole number";
    default:
      return issue.message;
  }
}

function toDeepFrozen<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) toDeepFrozen(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Loads a node's config: defaults < config file < VALIDATOR_* environment <
 * overrides. All problems of all layers are collected and thrown together as
 * one ConfigError; each names the key, the value, its source and what is
 * allowed. The result is deeply frozen.
 */
export function loadConfig(options: LoadConfigOptions): Config {
  const layers: Layer[] = [layerFromToml(readText(DEFAULTS_FILE, "the shipped defaults"), defaultsSource)];
  const file =
    options.file === null
      ? undefined
      : options.file === undefined
        ? existingFile(join(options.home, CONFIG_FILE_NAME))
        : resolve(options.file);
  if (file !== undefined)
    layers.push(layerFromToml(readText(file, "config file"), { kind: "file", label: `file ${file}` }));
  layers.push(layerFromEnv(options.env ?? {}));
  layers.push(layerFromOverrides(options.overrides ?? []));

  const merged: Record<string, Record<string, unknown>> = {};
  const origin = new Map<string, Assignment>();
  const issues: ConfigIssue[] = [];
  for (const layer of layers) {
    issues.push(...layer.issues);
    for (const a of layer.assignments) {
      merged[a.key.section] ??= {};
      merged[a.key.section]![a.key.key] = a.value;
      origin.set(a.key.name, a);
    }
  }

  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const [section, key, ...rest] = issue.path.map(String);
      const name = `${section}.${key}`;
      const assignment = origin.get(name);
      const info = CONFIG_KEYS.get(name);
      if (!assignment || !info) {
        // A key missing from every layer: only possible if the shipped defaults lack it.
        issues.push({
          key: name,
          source: defaultsSource,
          problem: issue.message,
          ...(info && { allowed: info.allowed }),
        });
        continue;
      }
      const element = rest.length > 0 ? `[${rest.join("][")}]` : "";
      const value = element ? (assignment.value as unknown[])[Number(rest[0])] : assignment.value;
      issues.push({
        key: name + element,
        value,
        source: assignment.source,
        problem: describeProblem(issue, value),
        allowed: info.allowed,
      });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return toDeepFrozen(result.data as Config);
}

const defaultsSource: ConfigSource = { kind: "default", label: `defaults ${DEFAULTS_FILE}` };

function existingFile(path: string): string | undefined {
  return existsSync(path) ? path : undefined;
}

/** The shipped defaults alone. */
export function defaultConfig(): Config {
  return loadConfig({ home: ".", file: null });
}
