import { readFileSync } from "node:fs";
import { stringify } from "smol-toml";
import { DEFAULTS_FILE } from "./loader.ts";
import { type Config, SECTIONS } from "./schema.ts";

const HEADER = `# validator node configuration.
# Environment variables VALIDATOR_<SECTION>_<KEY> and command-line flags
# override this file. Relative paths are resolved against the home.
`;

/** The comment lines right above each key in the shipped defaults, by "section.key". */
function commentsOfDefaults(): Map<string, string[]> {
  const comments = new Map<string, string[]>();
  let section = "";
  let pending: string[] = [];
  for (const raw of readFileSync(DEFAULTS_FILE, "utf8").split("\n")) {
    const line = raw.trim();
    const header = /^\[([A-Za-z0-9_]+)\]$/.exec(line);
    const key = /^([A-Za-z0-9_]+)\s*=/.exec(line);
    if (line.startsWith("#")) pending.push(line);
    else {
      if (header) section = header[1]!;
      else if (key) comments.set(`${section}.${key[1]}`, pending);
      pending = [];
    }
  }
  return comments;
}

/** One `key = value` line; lists of two or more entries get one entry per line. */
function renderValue(key: string, value: unknown): string {
  if (Array.isArray(value) && value.length > 1) {
    const items = value.map((item) => `  ${stringify({ v: item }).slice("v = ".length).trimEnd()},`);
    return `${key} = [\n${items.join("\n")}\n]`;
  }
  return stringify({ [key]: value }).trimEnd();
}

/**
 * config.toml text for a config, every key with the explanation it has in
 * config/default.toml. Loading the text gives back the same config.
 */
export function renderConfig(config: Config, header: string = HEADER): string {
  const comments = commentsOfDefaults();
  const sections: string[] = [];
  for (const section of SECTIONS) {
    const lines = [`[${section}]`];
    for (const [key, value] of Object.entries(config[section as keyof Config])) {
      lines.push(...(comments.get(`${section}.${key}`) ?? []), renderValue(key, value));
    }
    sections.push(lines.join("\n"));
  }
  return `${header}\n${sections.join("\n\n")}\n`;
}
