import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

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

/** Resident memory of a process split by kind, from /proc/<pid>/status (bytes). */
export interface ProcMemory {
  /** VmRSS = rssAnon + rssFile + rssShmem. */
  rssBytes: number;
  /** Anonymous pages: the JS heap, malloc arenas (LevelDB, OpenSSL, libuv), thread stacks. */
  rssAnonBytes: number;
  /** File-backed pages: the node binary and shared libraries, and mmap'd files (LevelDB tables). */
  rssFileBytes: number;
  rssShmemBytes: number;
  /** Threads of the process (libuv pool, V8 workers, LevelDB's compaction thread). */
  threads: number;
}

/** Parses the RSS lines of /proc/<pid>/status (the kernel reports kB); undefined when one is missing. */
export function parseProcMemory(statusText: string): ProcMemory | undefined {
  const kB = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB$`, "m").exec(statusText);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const threads = /^Threads:\s+(\d+)$/m.exec(statusText);
  const rss = kB("VmRSS");
  const anon = kB("RssAnon");
  const file = kB("RssFile");
  const shmem = kB("RssShmem");
  if (rss === undefined || anon === undefined || file === undefined || shmem === undefined) return undefined;
  return {
    rssBytes: rss,
    rssAnonBytes: anon,
    rssFileBytes: file,
    rssShmemBytes: shmem,
    threads: threads ? Number(threads[1]) : 0,
  };
}

/** RSS by kind of a live process; undefined when it is gone. */
export function sampleMemory(pid: number): ProcMemory | undefined {
  try {
    return parseProcMemory(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Anonymous RSS of a process by kind of mapping, from /proc/<pid>/smaps
 * (bytes): glibc's main malloc arena (the `[heap]` brk segment, where the
 * main thread's malloc and Node's Buffers live), anonymous mappings under
 * 1 MiB (V8 maps its heap in 256 KiB pages) and larger ones (glibc's
 * per-thread arenas, 64 MiB reservations; V8 large objects; thread stacks
 * are listed apart by the kernel only when named, so they fall here too).
 */
export interface AnonMaps {
  brkBytes: number;
  smallBytes: number;
  largeBytes: number;
}

export function parseAnonMaps(smapsText: string): AnonMaps {
  const out: AnonMaps = { brkBytes: 0, smallBytes: 0, largeBytes: 0 };
  let kind: keyof AnonMaps | null = null;
  for (const line of smapsText.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[3]!.trim();
      const size = Number.parseInt(head[2]!, 16) - Number.parseInt(head[1]!, 16);
      kind = name === "[heap]" ? "brkBytes" : name !== "" ? null : size < 1024 * 1024 ? "smallBytes" : "largeBytes";
      continue;
    }
    if (kind !== null && line.startsWith("Rss:")) out[kind] += Number(line.split(/\s+/)[1]) * 1024;
  }
  return out;
}

/** Anonymous RSS by kind of mapping; undefined when the process is gone. */
export function sampleAnonMaps(pid: number): AnonMaps | undefined {
  try {
    return parseAnonMaps(readFileSync(`/proc/${pid}/smaps`, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * The thread groups of a Node process: the event loop (the thread whose id
 * is the pid), libuv's pool (threads named "libuv-worker", by libuv: LevelDB
 * reads and writes handed off by the binding, fsync, DNS; LevelDB's own
 * compaction thread inherits the name of the pool thread that started it, so
 * it counts here too), V8's workers ("V8Worker", by Node: concurrent GC
 * marking and sweeping, optimizing compiles), and the rest. Names are matched
 * by suffix: a newer Node prefixes its thread names.
 */
export type ThreadGroup = "main" | "pool" | "v8" | "other";
export const THREAD_GROUPS: readonly ThreadGroup[] = ["main", "pool", "v8", "other"];

export function threadGroupOf(pid: number, tid: number, threadName: string): ThreadGroup {
  if (tid === pid) return "main";
  if (threadName.endsWith("libuv-worker")) return "pool";
  if (threadName.endsWith("V8Worker")) return "v8";
  return "other";
}

/** A thread's name: the text between the first '(' and the last ')' of its /proc stat line. */
export function parseProcStatName(text: string): string {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error("malformed /proc stat: no (name)");
  return text.slice(open + 1, close);
}

/** One sample of a process's threads: each live thread's group and CPU ticks, and the process's total. */
export interface ThreadSample {
  processTicks: number;
  threads: Map<number, { group: ThreadGroup; ticks: number }>;
}

/**
 * CPU ticks of a live process's threads (/proc/<pid>/task/<tid>/stat);
 * undefined when the process is gone. A thread that exits between the
 * listing and its read is left out.
 */
export function sampleThreads(pid: number): ThreadSample | undefined {
  let processText: string;
  let tids: string[];
  try {
    processText = readFileSync(`/proc/${pid}/stat`, "utf8");
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const threads = new Map<number, { group: ThreadGroup; ticks: number }>();
  for (const name of tids) {
    const tid = Number(name);
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${name}/stat`, "utf8");
    } catch {
      continue; // exited since the listing
    }
    threads.set(tid, { group: threadGroupOf(pid, tid, parseProcStatName(text)), ticks: parseProcStat(text).cpuTicks });
  }
  return { processTicks: parseProcStat(processText).cpuTicks, threads };
}

/**
 * Each group's share (%) of the process's CPU between two samples of one
 * process: per thread, its ticks since the first sample (all of them for a
 * thread born since); what threads that exited in between used, the
 * process's total minus the live threads' sum, goes to "other". Undefined
 * when no CPU was used.
 */
export function threadShares(from: ThreadSample, to: ThreadSample): Record<ThreadGroup, number> | undefined {
  const total = to.processTicks - from.processTicks;
  if (total <= 0) return undefined;
  const used = { main: 0, pool: 0, v8: 0, other: 0 };
  for (const [tid, t] of to.threads) used[t.group] += Math.max(0, t.ticks - (from.threads.get(tid)?.ticks ?? 0));
  const counted = THREAD_GROUPS.reduce((n, g) => n + used[g], 0);
  used.other += Math.max(0, total - counted);
  const sum = Math.max(total, counted);
  const out = { main: 0, pool: 0, v8: 0, other: 0 };
  for (const g of THREAD_GROUPS) out[g] = (used[g] / sum) * 100;
  return out;
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
