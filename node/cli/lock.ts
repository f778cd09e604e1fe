import { homeLockHolder } from "../storage/index.ts";
import { CliError } from "./errors.ts";

/**
 * Refuses `what` (e.g. "reset") while a node runs with this home, naming the
 * process: deleting the data or keys of a running validator is how it ends
 * up signing from a state it does not remember.
 */
export async function assertHomeNotRunning(what: string, home: string, dataDir: string): Promise<void> {
  const holder = await homeLockHolder(dataDir);
  if (holder === null) return;
  const pid = holder.startsWith("pid ") && holder !== "pid unknown" ? holder.slice(4) : null;
  throw new CliError(
    `${what} refused: a node is running with home ${home} (${holder}, holding ${dataDir}/db); ` +
      `stop it first${pid ? ` (kill -TERM ${pid})` : ""}, then run this again`,
  );
}
