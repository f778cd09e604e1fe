import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout the scripts run from, and its `validator` binary. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const VALIDATOR_MAIN = join(REPO_ROOT, "node", "main.ts");

/** The files of one cluster directory. */
export interface ClusterLayout {
  dir: string;
  /** cluster.json: ports, nodes, --set overrides (see state.ts). */
  stateFile: string;
  homesDir: string;
  logsDir: string;
  pidsDir: string;
  /** Where `--cpu-prof` runs write their profiles. */
  profilesDir: string;
}

/** What a cluster directory may hold; anything else makes destroy() refuse to delete it. */
export const LAYOUT_ENTRIES: ReadonlySet<string> = new Set([
  "cluster.json",
  "cluster.json.tmp",
  // A devnet directory from before scripts/cluster kept its state here; `clean` may remove it.
  "devnet.json",
  "devnet.json.tmp",
  "homes",
  "logs",
  "pids",
  "profiles",
]);

export function layoutOf(dir: string): ClusterLayout {
  return {
    dir,
    stateFile: join(dir, "cluster.json"),
    homesDir: join(dir, "homes"),
    logsDir: join(dir, "logs"),
    pidsDir: join(dir, "pids"),
    profilesDir: join(dir, "profiles"),
  };
}

export function homeOf(layout: ClusterLayout, name: string): string {
  return join(layout.homesDir, name);
}

export function logFileOf(layout: ClusterLayout, name: string): string {
  return join(layout.logsDir, `${name}.log`);
}

export function pidFileOf(layout: ClusterLayout, name: string): string {
  return join(layout.pidsDir, `${name}.pid`);
}
