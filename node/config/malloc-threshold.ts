/**
 * What node.mallocMmapThresholdKiB means for the process. glibc's malloc
 * serves a block at or above its mmap threshold with a mapping of its own,
 * returned to the kernel when freed; smaller blocks come from its heaps, which
 * keep their high-water mark. The threshold starts at 128 KiB and glibc
 * raises it each time such a mapped block is freed (up to 32 MiB), so a node
 * that keeps allocating large buffers (LevelDB batches, big frames and
 * payloads) soon serves them all from its heaps, where freed space is reused
 * but rarely given back. A fixed threshold keeps them out. glibc reads it
 * only when the process starts, from the environment: `validator start` and
 * `validator dev` re-execute themselves once with MALLOC_MMAP_THRESHOLD_ set
 * (start-plan.ts decides, together with the other start-up settings). The
 * operator's own setting always wins.
 *
 * Measured (README, "Memory"): 1 MiB kept RSS about 30 MiB lower at 4,000 and
 * 7,000 tx/s for the same CPU; 256 KiB saved as much at 3,000-4,000 tx/s but
 * cost 3% CPU and tail latency at 7,000 (most likely each block from 256 KiB
 * up, an mmap and an munmap on the event loop); 64 and 128 KiB cost 6-7% CPU.
 */

/** glibc's environment variable for M_MMAP_THRESHOLD (bytes). */
const MALLOC_MMAP_THRESHOLD_ENV = "MALLOC_MMAP_THRESHOLD_";
/** The same setting as a glibc tunable, inside GLIBC_TUNABLES. */
const TUNABLE = "glibc.malloc.mmap_threshold=";

export type MallocSource =
  | "node.mallocMmapThresholdKiB"
  | "the operator's MALLOC_MMAP_THRESHOLD_"
  | "the operator's GLIBC_TUNABLES"
  | "glibc's default";

/** The mmap threshold a process runs with, and where it came from. */
export interface MallocRun {
  /** Bytes, or null for glibc's own adaptive threshold. */
  mmapThresholdBytes: number | null;
  source: MallocSource;
  /** Why the configured threshold is not the one running, when it is not. */
  note?: string;
}

/** What the process needs: the variable added by a re-execution, or nothing more. */
export type MallocDecision = { kind: "want"; env: Record<string, string> } | { kind: "run"; run: MallocRun };

/** glibc ignores a threshold above this (HEAP_MAX_SIZE / 2 on 64-bit) and keeps its adaptive one. */
const MAX_GLIBC_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024;

/**
 * The decision for `configuredKiB` (0 = glibc's default). `appliedHere`
 * says this process is a re-execution that set the variable itself;
 * `isGlibc` whether the process's C library is glibc (others ignore the
 * variable), asked only when the answer matters.
 */
export function mallocDecision(
  configuredKiB: number,
  env: Readonly<Record<string, string | undefined>>,
  isGlibc: () => boolean,
  appliedHere: boolean,
  reexecuted: boolean,
): MallocDecision {
  // Set at all, even empty, is the operator's: glibc reads an empty value as 0.
  const set = env[MALLOC_MMAP_THRESHOLD_ENV];
  if (set !== undefined) {
    const source = appliedHere ? "node.mallocMmapThresholdKiB" : "the operator's MALLOC_MMAP_THRESHOLD_";
    return { kind: "run", run: operatorRun(set === "" ? "0" : set, source, isGlibc) };
  }
  const tunable = tunableIn(env.GLIBC_TUNABLES);
  if (tunable !== undefined)
    return { kind: "run", run: operatorRun(tunable, "the operator's GLIBC_TUNABLES", isGlibc) };
  if (configuredKiB === 0) return { kind: "run", run: { mmapThresholdBytes: null, source: "glibc's default" } };
  if (!isGlibc()) return { kind: "run", run: mallocNotApplied(configuredKiB, "the C library is not glibc") };
  if (reexecuted)
    return {
      kind: "run",
      run: mallocNotApplied(configuredKiB, `the re-executed process has no ${MALLOC_MMAP_THRESHOLD_ENV}`),
    };
  return { kind: "want", env: { [MALLOC_MMAP_THRESHOLD_ENV]: String(configuredKiB * 1024) } };
}

/** A threshold set in the environment, with what glibc makes of it. */
function operatorRun(text: string, source: MallocSource, isGlibc: () => boolean): MallocRun {
  const bytes = bytesOf(text);
  if (!isGlibc()) return { mmapThresholdBytes: null, source, note: "no effect: the C library is not glibc" };
  if (bytes === null) return { mmapThresholdBytes: null, source, note: `not a byte count glibc reads: ${text}` };
  if (bytes > MAX_GLIBC_MMAP_THRESHOLD_BYTES) {
    return { mmapThresholdBytes: null, source, note: `glibc ignores a threshold above 32 MiB (${bytes} bytes)` };
  }
  if (bytes === 0) return { mmapThresholdBytes: 0, source, note: "0: every allocation gets a mapping of its own" };
  return { mmapThresholdBytes: bytes, source };
}

/** The run state when the configured threshold could not be applied, saying why. */
export function mallocNotApplied(configuredKiB: number, why: string): MallocRun {
  return {
    mmapThresholdBytes: null,
    source: "glibc's default",
    note: `node.mallocMmapThresholdKiB = ${configuredKiB} not applied: ${why}`,
  };
}

/** A byte count as glibc reads it (decimal, 0x hex or 0-led octal), or null when it is not one. */
function bytesOf(text: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text.slice(2), 16);
  if (/^0[0-7]+$/.test(text)) return Number.parseInt(text.slice(1), 8);
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** glibc.malloc.mmap_threshold in GLIBC_TUNABLES (colon-separated name=value pairs), or undefined. */
function tunableIn(tunables: string | undefined): string | undefined {
  if (tunables === undefined) return undefined;
  const pair = tunables.split(":").find((p) => p.startsWith(TUNABLE));
  return pair === undefined ? undefined : pair.slice(TUNABLE.length);
}
