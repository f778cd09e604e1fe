import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";

/**
 * Linux clock ticks per second of /proc/<pid>/stat's utime and stime
 * (USER_HZ, 100 on every mainstream Linux ABI; `getconf CLK_TCK`).
 */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** utime + stime so far, in clock ticks. */
  cpuTicks: number;
  rssBytes: number;
  /** One-letter state from /proc/<pid>/stat (R, S, D, Z, ...). */
  state: string;
}

/**
 * Parses /proc/<pid>/stat: the command name is in parentheses and may hold
 * spaces, so fields are counted from the last ')'. Fields 14 and 15 (1-based)
 * are utime and stime, field 24 is rss in pages.
 */
export function parseProcStat(text: string): { state: string; cpuTicks: number; rssPages: number } {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error("malformed /proc stat: no ')'");
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state); field k is rest[k - 3].
  const field = (k: number) => {
    const v = rest[k - 3];
    if (v === undefined || !/^-?\d+$/.test(v)) throw new Error(`malformed /proc stat: field ${k} is ${v}`);
    return Number(v);
  };
  return { state: rest[0] ?? "?", cpuTicks: field(14) + field(15), rssPages: field(24) };
}

/** VmRSS from /proc/<pid>/status, in bytes (the kernel reports kB). */
export function parseVmRssBytes(statusText: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(statusText);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** CPU time and RSS of a live process; undefined when it is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    const rss = parseVmRssBytes(readFileSync(`/proc/${pid}/status`, "utf8")) ?? stat.rssPages * 4096;
    return { cpuTicks: stat.cpuTicks, rssBytes: rss, state: stat.state };
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` is a live process whose command line contains `marker`
 * (the node's home directory): a stale pid file whose pid was reused by
 * another program does not count, and neither does a zombie.
 */
export function isRunning(pid: number, marker?: string): boolean {
  try {
    const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    if (stat.state === "Z" || stat.state === "X") return false;
    if (marker === undefined) return true;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(marker);
  } catch {
    return false;
  }
}

export function readPidFile(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8").trim();
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

export function writePidFile(file: string, pid: number): void {
  writeFileSync(file, `${pid}\n`);
}

export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `pid` has exited or `timeoutMs` passed; true when it exited. */
export async function waitForExit(pid: number, marker: string | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid, marker)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}
