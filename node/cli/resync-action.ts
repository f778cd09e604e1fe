import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseSetFlags } from "../config/index.ts";
import { HomeError, loadNodeHome } from "../runtime/index.ts";
import { databaseInUse, describeSafety, rebuildWithSafety, salvageSafetyRecord } from "../storage/index.ts";
import { CliError, UsageError } from "./errors.ts";
import { resolveHome } from "./options.ts";
import type { ResyncOptions } from "./resync.ts";

/**
 * `validator resync`: the remedy for damaged chain data. Unlike `reset`, it
 * keeps the safety record, so the node still refuses every vote that could
 * contradict one it sent before; the chain itself is fetched again from
 * peers when the node starts.
 */
export async function resync(opts: ResyncOptions): Promise<void> {
  const homeDir = resolveHome(opts.home, process.env);
  let home: ReturnType<typeof loadNodeHome>;
  try {
    home = loadNodeHome({ home: homeDir, env: process.env, overrides: parseSetFlags(opts.set ?? []) });
  } catch (err) {
    if (err instanceof HomeError) throw new CliError(err.message);
    throw err;
  }
  const dbPath = join(home.paths.dataDir, "db");
  if (!existsSync(dbPath)) {
    process.stdout.write(`nothing to resync: ${dbPath} does not exist (a fresh node syncs from its peers anyway)\n`);
    return;
  }
  if (!opts.yes) {
    throw new UsageError(
      `resync moves ${dbPath} aside and rebuilds the chain data from peers, keeping the safety record; add --yes to confirm`,
    );
  }
  const inUse = databaseInUse(dbPath);
  if (inUse === true) throw new CliError(`cannot resync ${dbPath} while a node is using it (stop the node first)`);

  let salvaged: Awaited<ReturnType<typeof salvageSafetyRecord>>;
  try {
    salvaged = await salvageSafetyRecord(dbPath, home.committee, home.validatorIndex);
  } catch (err) {
    throw new CliError(
      `the safety record cannot be read back from ${dbPath} (${(err as Error).message}), so resync cannot keep it; ` +
        `restore the database from a backup, or wipe it with \`validator reset --home ${homeDir} --yes\` (the node then no longer knows what it voted)`,
    );
  }
  const aside = await rebuildWithSafety(dbPath, home.committee, salvaged, Date.now());
  process.stdout.write(
    `moved the damaged database to ${aside} (delete it when no longer needed)\n` +
      `kept the ${describeSafety(salvaged.record)}${salvaged.how === "repaired copy" ? ", read from a repaired copy" : ""}\n` +
      `the node casts no new vote at or below index ${salvaged.floorIndex} (the highest index the damaged data names)` +
      `${salvaged.ownLaneNext > 0 ? `; it signs no own lane block below number ${salvaged.ownLaneNext} again (it fetches them from peers)` : ""}` +
      `${salvaged.logDamaged ? "; the write-ahead log was damaged, so votes after the kept record may have been lost: wait until the chain has moved past the moment of the damage before starting" : ""}\n` +
      `created a fresh database at ${dbPath}; keys, config and genesis are unchanged\n` +
      `start the node (validator start --home ${homeDir}): it fetches the chain from its peers and votes again only above the kept record\n`,
  );
}
