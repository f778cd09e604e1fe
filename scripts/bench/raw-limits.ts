/**
 * The machine's raw limits, measured in the same run as the cluster so the
 * bench can state ratios: libp2p stream throughput between two processes
 * (node/net's transport stack) and fsync latency of 4 KiB writes on the disk
 * the nodes write to.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type LatencySummary, summarize } from "./stats.ts";

const PEER = join(import.meta.dirname, "stream-peer.ts");

export interface StreamResult {
  seconds: number;
  chunkBytes: number;
  bytes: number;
  /** 10^6 bytes per second, first to last byte at the receiver. */
  mbPerS: number;
}

/** The first JSON line a child prints on stdout (or rejects when it exits first). */
function nextJsonLine<T>(
  child: ChildProcess,
  lines: AsyncIterator<string>,
  what: string,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer in ${timeoutMs} ms`)), timeoutMs);
    lines.next().then(
      (r) => {
        clearTimeout(timer);
        if (r.done) reject(new Error(`${what} exited (code ${child.exitCode})`));
        else resolve(JSON.parse(r.value) as T);
      },
      (err: Error) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Sender and receiver in two processes on 127.0.0.1, one stream, `seconds` of writes. */
export async function measureStreamThroughput(seconds = 3, chunkBytes = 64 * 1024): Promise<StreamResult> {
  const receiver = spawn(process.execPath, [PEER, "receive"], { stdio: ["ignore", "pipe", "inherit"] });
  let sender: ChildProcess | undefined;
  try {
    const lines = createInterface({ input: receiver.stdout! })[Symbol.asyncIterator]();
    const { addr } = await nextJsonLine<{ addr: string }>(receiver, lines, "stream receiver", 30_000);
    sender = spawn(process.execPath, [PEER, "send", addr, String(seconds), String(chunkBytes)], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const { bytes, ms } = await nextJsonLine<{ bytes: number; ms: number }>(
      receiver,
      lines,
      "stream receiver",
      seconds * 1000 + 60_000,
    );
    return { seconds, chunkBytes, bytes, mbPerS: ms > 0 ? bytes / 1e6 / (ms / 1000) : 0 };
  } finally {
    sender?.kill("SIGKILL");
    receiver.kill("SIGKILL");
  }
}

export interface FsyncResult {
  writes: number;
  blockBytes: number;
  latencyMs: LatencySummary;
}

/** write(4 KiB) + fsync, `writes` times, appending to a scratch file in `dir`. */
export function measureFsync(dir: string, writes = 300, blockBytes = 4096): FsyncResult {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `fsync-probe-${process.pid}`);
  const block = Buffer.alloc(blockBytes, 1);
  const samples: number[] = [];
  const fd = openSync(file, "w");
  try {
    for (let i = 0; i < writes; i++) {
      const t = performance.now();
      writeSync(fd, block);
      fsyncSync(fd);
      samples.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return { writes, blockBytes, latencyMs: summarize(samples) };
}
