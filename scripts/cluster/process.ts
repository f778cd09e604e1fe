import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, createWriteStream, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { REPO_ROOT, VALIDATOR_MAIN } from "./paths.ts";
import { isRunning, readPidFile, removePidFile, waitForExit, writePidFile } from "./proc.ts";
import { ClusterError } from "./state.ts";

/** The signals a cluster sends its nodes: a clean stop, a crash, a freeze and a thaw. */
export type NodeSignal = "SIGTERM" | "SIGKILL" | "SIGSTOP" | "SIGCONT";

export interface SpawnNodeOptions {
  home: string;
  logFile: string;
  pidFile: string;
  /** `--set section.key=value` overrides for `validator start`. */
  sets?: readonly string[];
  /** `--log-level` (debug gives the vote journal the cluster tests scan). */
  logLevel?: string;
  /** Extra arguments for Node itself (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
  /** Its own process group, unreferenced: it outlives this process (the devnet). */
  detached?: boolean;
  /** Also hands every chunk of its output to this callback (tee; the log file still gets it). */
  onOutput?: (chunk: string) => void;
  /** Variables added to the environment, or removed with undefined (VALIDATOR_* of ours never leak in). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * A command that runs the node, e.g. `["ip", "netns", "exec", "<ns>"]` for
   * a network namespace; it must exec the node in place (same pid).
   */
  wrapper?: readonly string[];
}

/** A node process this process started: its pid and how it ended. */
export interface SpawnedNode {
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code, or the name of the signal that ended it. */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/**
 * Our environment without VALIDATOR_* variables, so the caller's shell
 * cannot reconfigure a node, plus `extra` (a variable set to undefined there
 * is removed).
 */
export function nodeEnv(extra: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("VALIDATOR_")) env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** The argv of `validator start` for these options (after process.execPath). */
export function startArgs(opts: SpawnNodeOptions): string[] {
  return [
    ...(opts.nodeArgs ?? []),
    VALIDATOR_MAIN,
    "start",
    "--home",
    opts.home,
    ...(opts.logLevel !== undefined ? ["--log-level", opts.logLevel] : []),
    ...(opts.sets ?? []).flatMap((s) => ["--set", s]),
  ];
}

/** The program and its arguments: Node with `validator start`, behind the wrapper if any. */
function command(opts: SpawnNodeOptions): [string, string[]] {
  const node = [process.execPath, ...startArgs(opts)];
  const [program, ...args] = [...(opts.wrapper ?? []), ...node];
  return [program!, args];
}

/**
 * Starts `validator start --home <home>`: stdout and stderr appended to the
 * log file (across restarts), the pid written to the pid file. Returns at
 * once; readiness is the caller's wait (LocalCluster.waitReady).
 */
export function spawnNode(opts: SpawnNodeOptions): SpawnedNode {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  mkdirSync(dirname(opts.pidFile), { recursive: true });
  const tee = opts.onOutput;
  let child: ChildProcess;
  if (tee === undefined) {
    const fd = openSync(opts.logFile, "a");
    try {
      child = spawn(command(opts)[0], command(opts)[1], {
        cwd: REPO_ROOT,
        detached: opts.detached === true,
        stdio: ["ignore", fd, fd],
        env: nodeEnv(opts.env),
      });
    } finally {
      closeSync(fd);
    }
  } else {
    child = spawn(command(opts)[0], command(opts)[1], {
      cwd: REPO_ROOT,
      detached: opts.detached === true,
      stdio: ["ignore", "pipe", "pipe"],
      env: nodeEnv(opts.env),
    });
    const log = createWriteStream(opts.logFile, { flags: "a" });
    const onData = (d: Buffer) => {
      log.write(d);
      tee(String(d));
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("close", () => log.end());
  }
  if (child.pid === undefined) throw new ClusterError(`could not start ${process.execPath} for ${opts.home}`);
  if (opts.detached) child.unref();
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  writePidFile(opts.pidFile, child.pid);
  return { pid: child.pid, child, exited };
}

/** The node's pid when it is running (checked against its home in /proc, so a stale pid file does not count). */
export function runningPid(pidFile: string, home: string): number | undefined {
  const pid = readPidFile(pidFile);
  return pid !== undefined && isRunning(pid, home) ? pid : undefined;
}

export type StopOutcome = "stopped" | "killed" | "not running";

/**
 * SIGTERM (a clean stop: waits up to `timeoutMs`, then SIGKILL) or SIGKILL
 * (a crash: nothing flushed). A stopped (SIGSTOP) process is sent SIGCONT
 * after SIGTERM so it can act on it. Removes the pid file once it is gone.
 */
export async function stopPid(
  pidFile: string,
  home: string,
  signal: "SIGTERM" | "SIGKILL",
  timeoutMs = 20_000,
): Promise<StopOutcome> {
  const pid = runningPid(pidFile, home);
  if (pid === undefined) {
    removePidFile(pidFile);
    return "not running";
  }
  let outcome: StopOutcome = signal === "SIGKILL" ? "killed" : "stopped";
  process.kill(pid, signal);
  if (signal === "SIGTERM") process.kill(pid, "SIGCONT");
  if (!(await waitForExit(pid, home, signal === "SIGKILL" ? 5000 : timeoutMs))) {
    process.kill(pid, "SIGKILL");
    outcome = "killed";
    if (!(await waitForExit(pid, home, 5000))) throw new ClusterError(`pid ${pid} (${home}) survived SIGKILL`);
  }
  removePidFile(pidFile);
  return outcome;
}
