import { homedir } from "node:os";
import { resolve } from "node:path";
import { InvalidArgumentError } from "commander";
import type { Override } from "../config/index.ts";

/** Parser for an integer option within [min, max]; bad input is a usage error naming the range. */
export function intArg(min: number, max?: number): (text: string) => number {
  const range = max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
  return (text) => {
    const value = Number(text.trim());
    if (!/^\d+$/.test(text.trim()) || value < min || (max !== undefined && value > max)) {
      throw new InvalidArgumentError(`must be ${range}.`);
    }
    return value;
  };
}

/** For repeatable options: collects every occurrence. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Where `validator dev` (npm start) keeps its single-validator home, relative to the working directory. */
export const DEV_HOME = ".dev-home";

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
