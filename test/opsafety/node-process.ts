/**
 * Real `validator` processes for the operator-safety tests (issue 15): a
 * home made by the real CLI on free 127.0.0.1 ports, `validator start` as a
 * child whose stdout and stderr are kept, and a few polling helpers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { MAIN, REPO, type RunResult, runValidator } from "../cli/run.ts";

export { MAIN, REPO, runValidator };

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface NodeProc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

/** `validator <args>` as a child (Node 24, minimal environment). */
export function spawnValidator(args: readonly string[], env: Record<string, string> = {}): NodeProc {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: REPO, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** A single-validator home on free ports; returns its ports. */
export async function initHome(home: string, extra: string[] = []): Promise<{ p2pPort: number; apiPort: number }> {
  const p2pPort = await freePort();
  const apiPort = await freePort();
  const r = runValidator([
    "init",
    "--home",
    home,
    "--set",
    `p2p.listen=/ip4/127.0.0.1/tcp/${p2pPort}`,
    "--set",
    `api.port=${apiPort}`,
    ...extra,
  ]);
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  return { p2pPort, apiPort };
}

/** Polls `check` every 200 ms until true, or fails after `timeoutMs` with `what` and the process output. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  proc?: NodeProc,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${proc ? `\nstdout:\n${proc.out().slice(-3000)}\nstderr:\n${proc.err()}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts `validator start --home` and waits until its API answers /status. */
export async function startNodeProcess(home: string, apiPort: number, args: string[] = []): Promise<NodeProc> {
  const proc = spawnValidator(["start", "--home", home, ...args]);
  await waitUntil(
    `the node in ${home} to serve /status`,
    async () => (await fetch(`http://127.0.0.1:${apiPort}/status`)).ok,
    proc,
  );
  return proc;
}

/** SIGTERM and wait for the exit code. */
export async function stopProcess(proc: NodeProc): Promise<number | null> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.child.exitCode;
  proc.child.kill("SIGTERM");
  return proc.exited;
}

/** JSON log lines of an output. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

export type { RunResult };
