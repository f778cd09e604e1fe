import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Override } from "../config/index.ts";
import { parseSetFlags } from "../config/index.ts";
import { HomeError, startNode } from "../runtime/index.ts";
import { CliError } from "./errors.ts";
import { init } from "./init-action.ts";
import { DEV_HOME, flagOverride, resolveHome } from "./options.ts";

export interface StartOptions {
  home?: string;
  set?: string[];
  logLevel?: string;
  logFormat?: string;
  apiHost?: string;
  apiPort?: number;
}

/** Time allowed for a clean stop before the process exits anyway. */
const STOP_DEADLINE_MS = 10_000;

/** `validator start` */
export async function start(opts: StartOptions): Promise<void> {
  await run(resolveHome(opts.home, process.env), opts);
}

/** `validator dev` (what `npm start` runs): init a dev home on first use, then start it. */
export async function dev(opts: StartOptions): Promise<void> {
  const home = resolve(opts.home ?? DEV_HOME);
  if (!existsSync(join(home, "config.toml"))) {
    init({ home, chainId: "devnet", moniker: "dev", set: [] });
  }
  await run(home, opts);
}

async function run(home: string, opts: StartOptions): Promise<void> {
  const overrides: Override[] = [
    ...parseSetFlags(opts.set ?? []),
    ...flagOverride("log.level", "--log-level", opts.logLevel),
    ...flagOverride("log.format", "--log-format", opts.logFormat),
    ...flagOverride("api.host", "--api-host", opts.apiHost),
    ...flagOverride("api.port", "--api-port", opts.apiPort === undefined ? undefined : String(opts.apiPort)),
  ];
  let node: Awaited<ReturnType<typeof startNode>>;
  try {
    node = await startNode({ home, env: process.env, overrides });
  } catch (err) {
    if (err instanceof HomeError) throw new CliError(err.message);
    throw err;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`second ${signal}: exiting without a clean stop\n`);
      process.exit(130);
    }
    setTimeout(() => {
      process.stderr.write("the node did not stop in time; exiting\n");
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    void node.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const code = await node.exited;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  if (code !== 0) throw new CliError("the node stopped after a fatal error (see the log above)");
}
