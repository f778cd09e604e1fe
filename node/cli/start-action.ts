import { accessSync, constants, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Override, StartTuning } from "../config/index.ts";
import { loadConfig, parseSetFlags, processFacts, startPlan } from "../config/index.ts";
import { asOperatorFacing, createLogger, formatOperatorLine } from "../observability/index.ts";
import { CliError, EXIT_FAILURE, isInternal, ReportedError } from "./errors.ts";
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
  const home = resolveHome(opts.home, process.env);
  applyStartTuning(home, overridesOf(opts));
  await run(home, opts);
}

/** `validator dev` (what `npm start` runs): init a dev home on first use, then start it. */
export async function dev(opts: StartOptions): Promise<void> {
  const home = resolve(opts.home ?? DEV_HOME);
  // Before init prints anything: the re-executed process starts over.
  applyStartTuning(home, overridesOf(opts));
  if (!existsSync(join(home, "config.toml"))) {
    await init({ home, chainId: "devnet", moniker: "dev", set: [] });
  }
  await run(home, opts);
}

function overridesOf(opts: StartOptions): Override[] {
  return [
    ...parseSetFlags(opts.set ?? []),
    ...flagOverride("log.level", "--log-level", opts.logLevel),
    ...flagOverride("log.format", "--log-format", opts.logFormat),
    ...flagOverride("api.host", "--api-host", opts.apiHost),
    ...flagOverride("api.port", "--api-port", opts.apiPort === undefined ? undefined : String(opts.apiPort)),
  ];
}

async function run(home: string, opts: StartOptions): Promise<void> {
  const overrides = overridesOf(opts);
  // Loaded here, not at the top: a process that re-executes itself should not load the node's modules first.
  const { startNode } = await import("../runtime/index.ts");
  let node: Awaited<ReturnType<typeof startNode>>;
  try {
    node = await startNode({ home, env: process.env, overrides });
  } catch (err) {
    if (isInternal(err)) throw err;
    reportStartupFailure(err, home);
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

/**
 * node.maxSemiSpaceMiB, node.heapGrowingPercent and
 * node.mallocMmapThresholdKiB take effect only at process start: when the
 * process runs without them, this replaces the process (same pid, same
 * arguments) with one started with --max-semi-space-size,
 * --heap-growing-percent and MALLOC_MMAP_THRESHOLD_ (node/config/start-plan.ts),
 * and does not return. A config that does not load is left to startNode to
 * report; a re-execution that fails leaves the defaults, said on stderr here
 * and in the node's start-up log lines.
 */
function applyStartTuning(home: string, overrides: readonly Override[]): void {
  let tuning: StartTuning;
  try {
    tuning = loadConfig({ home, env: process.env, overrides }).node;
  } catch {
    return;
  }
  const plan = startPlan(tuning, processFacts());
  // Typed optional: Node has no execve where the platform has none (the plan rules out those platforms).
  if (plan.kind !== "reexec" || process.execve === undefined) return;
  const fallBack = (why: string) =>
    process.stderr.write(`warning: could not re-execute to apply ${plan.adds.join(", ")} (${why}); running without\n`);
  // Node 24 aborts the process when execve(2) fails (later versions throw):
  // the usual cause, a program that is not there or not executable, is checked first.
  try {
    accessSync(plan.argv[0]!, constants.X_OK);
  } catch (err) {
    fallBack((err as Error).message);
    return;
  }
  try {
    process.execve(plan.argv[0]!, plan.argv, plan.env);
  } catch (err) {
    fallBack((err as Error).message);
  }
}

/**
 * A start-up failure an operator can cause (issue 15): one line on stderr
 * and one JSON log line on stdout with the same words, no stack trace, and
 * the real exit code on that final log line.
 */
function reportStartupFailure(err: unknown, home: string): never {
  const facing = asOperatorFacing(err);
  const line = facing ? formatOperatorLine(facing) : err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${line}\n`);
  const log = createLogger({ level: "info", format: "json", base: { module: "cli" } });
  log.fatal(
    { home, exitCode: EXIT_FAILURE, ...(facing && { subject: facing.subject, remedy: facing.remedy }) },
    `could not start: ${line}`,
  );
  throw new ReportedError(EXIT_FAILURE);
}
