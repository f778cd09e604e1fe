import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout the scripts run from, and its `validator` binary. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const VALIDATOR_MAIN = join(REPO_ROOT, "node", "main.ts");

/** Where a devnet keeps its state: --dir, else $DEVNET_DIR, else <repo>/.devnet (git-ignored). */
export function devnetDir(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return resolve(flag ?? env.DEVNET_DIR ?? join(REPO_ROOT, ".devnet"));
}

/** The files of one devnet directory. */
export interface DevnetLayout {
  dir: string;
  stateFile: string;
  homesDir: string;
  logsDir: string;
  pidsDir: string;
}

export function layoutOf(dir: string): DevnetLayout {
  return {
    dir,
    stateFile: join(dir, "devnet.json"),
    homesDir: join(dir, "homes"),
    logsDir: join(dir, "logs"),
    pidsDir: join(dir, "pids"),
  };
}

export function homeOf(layout: DevnetLayout, name: string): string {
  return join(layout.homesDir, name);
}

export function logFileOf(layout: DevnetLayout, name: string): string {
  return join(layout.logsDir, `${name}.log`);
}

export function pidFileOf(layout: DevnetLayout, name: string): string {
  return join(layout.pidsDir, `${name}.pid`);
}
