import { existsSync, rmSync, statSync } from "node:fs";
import { Level } from "level";
import { homePaths, loadConfig, parseSetFlags } from "../config/index.ts";
import { CliError, UsageError } from "./errors.ts";
import { resolveHome } from "./options.ts";

export interface ResetOptions {
  home?: string;
  set?: string[];
  yes?: boolean;
}

/** `validator reset`: wipes the data directory after checking no node is using it. */
export async function reset(opts: ResetOptions): Promise<void> {
  const home = resolveHome(opts.home, process.env);
  if (!existsSync(home) || !statSync(home).isDirectory()) throw new CliError(`no node home at ${home}`);
  const config = loadConfig({ home, env: process.env, overrides: parseSetFlags(opts.set ?? []) });
  const { dataDir } = homePaths(home, config);
  if (!existsSync(dataDir)) {
    process.stdout.write(`nothing to reset: ${dataDir} does not exist\n`);
    return;
  }
  if (!opts.yes) {
    throw new UsageError(`reset deletes every block, certificate and vote record in ${dataDir}; add --yes to confirm`);
  }
  await assertNotInUse(`${dataDir}/db`);
  rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write(`deleted ${dataDir}; keys, config and genesis in ${home} are kept\n`);
}

/** LevelDB holds an exclusive lock while a node runs: opening it tells us whether one does. */
async function assertNotInUse(dbDir: string): Promise<void> {
  if (!existsSync(dbDir)) return;
  const db = new Level(dbDir, { createIfMissing: false });
  try {
    await db.open();
  } catch (err) {
    // Only a held lock stops us; a database that does not open for another
    // reason (damaged, half-created) is exactly what reset is for.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === "LEVEL_LOCKED") {
      throw new CliError(`cannot reset ${dbDir} while a node is using it (stop the node first): ${cause.message}`);
    }
  } finally {
    await db.close().catch(() => {});
  }
}
