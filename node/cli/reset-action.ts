import { existsSync, rmSync, statSync } from "node:fs";
import { homePaths, loadConfig, parseSetFlags } from "../config/index.ts";
import { CliError, UsageError } from "./errors.ts";
import { assertHomeNotRunning } from "./lock.ts";
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
  await assertHomeNotRunning("reset", home, dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write(`deleted ${dataDir}; keys, config and genesis in ${home} are kept\n`);
}
