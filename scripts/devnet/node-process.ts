import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { isHealthy } from "./http.ts";
import { type DevnetLayout, homeOf, logFileOf, pidFileOf, REPO_ROOT, VALIDATOR_MAIN } from "./paths.ts";
import { isPortFree } from "./ports.ts";
import { isRunning, readPidFile, removePidFile, sleep, waitForExit, writePidFile } from "./proc.ts";
import { DevnetError, type NodeEntry } from "./state.ts";

export interface StartNodeOptions {
  /** Extra arguments for Node itself (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
  /** `--set section.key=value` overrides for `validator start`. */
  sets?: readonly string[];
  /** How long to wait for GET /health. */
  readyTimeoutMs?: number;
}

/** The node's pid when it is running (checked against its home in /proc, so a stale pid file does not count). */
export function runningPid(layout: DevnetLayout, node: NodeEntry): number | undefined {
  const pid = readPidFile(pidFileOf(layout, node.name));
  return pid !== undefined && isRunning(pid, homeOf(layout, node.name)) ? pid : undefined;
}

/** The last lines of a node's log, for error messages. */
export function logTail(layout: DevnetLayout, name: string, lines = 15): string {
  const file = logFileOf(layout, name);
  if (!existsSync(file)) return "(no log)";
  const text = readFileSync(file, "utf8").trimEnd().split("\n");
  return text.slice(-lines).join("\n");
}

/** The environment of a node: ours without VALIDATOR_* variables, so the caller's shell cannot reconfigure it. */
function nodeEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("VALIDATOR_")) env[k] = v;
  }
  return env;
}

/**
 * Starts `validator start --home <home>` in the background (its own process
 * group, so it outlives this command), its stdout and stderr appended to
 * logs/<name>.log, its pid in pids/<name>.pid, and waits until /health
 * answers. Fails with the log's tail if the node exits or does not answer.
 */
export async function startNode(layout: DevnetLayout, node: NodeEntry, opts: StartNodeOptions = {}): Promise<number> {
  const running = runningPid(layout, node);
  if (running !== undefined) throw new DevnetError(`${node.name} is already running (pid ${running})`);
  for (const port of [node.p2pPort, node.apiPort]) {
    if (!(await isPortFree(port))) {
      throw new DevnetError(
        `${node.name}: port ${port} on 127.0.0.1 is in use (another cluster or program?); ` +
          "stop it, or `clean` and `up` again to pick new ports",
      );
    }
  }
  mkdirSync(layout.logsDir, { recursive: true });
  mkdirSync(layout.pidsDir, { recursive: true });
  const home = homeOf(layout, node.name);
  const args = [
    ...(opts.nodeArgs ?? []),
    VALIDATOR_MAIN,
    "start",
    "--home",
    home,
    ...(opts.sets ?? []).flatMap((s) => ["--set", s]),
  ];
  const log = openSync(logFileOf(layout, node.name), "a");
  let pid: number | undefined;
  try {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", log, log],
      env: nodeEnv(),
    });
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(log);
  }
  if (pid === undefined) throw new DevnetError(`${node.name}: could not start ${process.execPath}`);
  writePidFile(pidFileOf(layout, node.name), pid);

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (!isRunning(pid, home)) {
      removePidFile(pidFileOf(layout, node.name));
      throw new DevnetError(`${node.name} exited during start; its log ends with:\n${logTail(layout, node.name)}`);
    }
    if (await isHealthy(`http://127.0.0.1:${node.apiPort}`)) return pid;
    if (Date.now() >= deadline) {
      throw new DevnetError(
        `${node.name} (pid ${pid}) did not answer /health on port ${node.apiPort}; its log ends with:\n${logTail(layout, node.name)}`,
      );
    }
    await sleep(200);
  }
}

export type StopOutcome = "stopped" | "killed" | "not running";

/**
 * SIGTERM (clean shutdown, waits up to `timeoutMs`, then SIGKILL) or SIGKILL
 * (a crash: nothing flushed). Removes the pid file once the process is gone.
 */
export async function stopNode(
  layout: DevnetLayout,
  node: NodeEntry,
  signal: "SIGTERM" | "SIGKILL",
  timeoutMs = 15_000,
): Promise<StopOutcome> {
  const pid = runningPid(layout, node);
  const pidFile = pidFileOf(layout, node.name);
  if (pid === undefined) {
    removePidFile(pidFile);
    return "not running";
  }
  const home = homeOf(layout, node.name);
  let outcome: StopOutcome = signal === "SIGKILL" ? "killed" : "stopped";
  process.kill(pid, signal);
  if (!(await waitForExit(pid, home, signal === "SIGKILL" ? 5000 : timeoutMs))) {
    process.kill(pid, "SIGKILL");
    outcome = "killed";
    if (!(await waitForExit(pid, home, 5000))) throw new DevnetError(`${node.name} (pid ${pid}) survived SIGKILL`);
  }
  removePidFile(pidFile);
  return outcome;
}
