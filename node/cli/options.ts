import { homedir } from "node:os";
import { resolve } from "node:path";
import { InvalidArgumentError } from "commander";
import type { Override } from "../config/index.ts";
import { CHAIN_ID_PATTERN } from "../types/index.ts";

/** Parser for an integer option within [min, max]; bad input is a usage error naming the range. */
export function intArg(min: number, max: number): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    const value = Number(text);
    if (value < min || value > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    return value;
  };
}

export function chainIdArg(text: string): string {
  if (!CHAIN_ID_PATTERN.test(text)) {
    throw new InvalidArgumentError(
      "a chain id is 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit.",
    );
  }
  return text;
}

/** For repeatable options: collects every occurrence. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export const HOME_HELP = "node home directory (default: $VALIDATOR_HOME, else ~/.validator)";
export const SET_HELP = "override a config key, e.g. --set consensus.viewTimeoutMs=2000 (repeatable)";

/** --home, else $VALIDATOR_HOME, else ~/.validator; always absolute. */
export function resolveHome(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const chosen = flag ?? (env.VALIDATOR_HOME ? env.VALIDATOR_HOME : resolve(homedir(), ".validator"));
  return resolve(chosen);
}

/** A config override given by a dedicated flag. */
export function flagOverride(key: string, flag: string, value: string | undefined): Override[] {
  return value === undefined ? [] : [{ key, value, source: `${flag} ${value}` }];
}
