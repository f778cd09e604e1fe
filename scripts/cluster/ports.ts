import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Free ports on 127.0.0.1 for local clusters and benchmarks: the one port
 * finder of the project (scripts and tests use it; nothing else binds probes).
 */

/** True when nothing listens on 127.0.0.1:port (checked by binding it for a moment). */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function allPortsFree(first: number, count: number): Promise<boolean> {
  for (let p = first; p < first + count; p++) {
    if (!(await isPortFree(p))) return false;
  }
  return true;
}

export interface PickPortOptions {
  /** Consecutive ports needed from the base on (a cluster: 2 per node, plus room for joins). */
  count: number;
  min?: number;
  max?: number;
  attempts?: number;
  /** [0, 1); injectable for tests. */
  random?: () => number;
  isFree?: (first: number, count: number) => Promise<boolean>;
}

/** Lowest and highest base the range allows, and the even bases in between. */
export function baseRange(count: number, min = 20_000, max = 60_000): { lo: number; hi: number } {
  const lo = min + (min % 2);
  const hi = max - count + 1;
  if (hi < lo) throw new Error(`no room for ${count} ports between ${min} and ${max}`);
  return { lo, hi };
}

/**
 * The kernel's ephemeral port range (outgoing connections take their local
 * port from it); Linux's default when /proc cannot be read.
 */
export function ephemeralPortRange(
  text: string | undefined = readOrUndefined("/proc/sys/net/ipv4/ip_local_port_range"),
): { lo: number; hi: number } {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text ?? "");
  return m ? { lo: Number(m[1]), hi: Number(m[2]) } : { lo: 32_768, hi: 60_999 };
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Where cluster ports live: from 20000 up to just below the ephemeral range
 * (an outgoing connection of any program, the nodes' own dials included,
 * could otherwise hold a port the cluster or a later join needs). When the
 * ephemeral range leaves no room below it, above it.
 */
export function clusterPortWindow(ephemeral = ephemeralPortRange()): { min: number; max: number } {
  if (ephemeral.lo - 1 - 20_000 >= 2_000) return { min: 20_000, max: ephemeral.lo - 1 };
  if (ephemeral.lo > 12_000) return { min: 10_000, max: ephemeral.lo - 1 };
  return { min: Math.min(ephemeral.hi + 1, 63_000), max: 65_535 };
}

/**
 * A random even base port whose `count` ports are all free right now.
 * Random rather than fixed, so two clusters (two checkouts, a test and a
 * developer's devnet) do not collide by accident; the bind check catches
 * ports already in use.
 */
export async function pickBasePort(opts: PickPortOptions): Promise<number> {
  const window = clusterPortWindow();
  const { lo, hi } = baseRange(opts.count, opts.min ?? window.min, opts.max ?? window.max);
  const random = opts.random ?? Math.random;
  const isFree = opts.isFree ?? allPortsFree;
  const attempts = opts.attempts ?? 50;
  const slots = Math.floor((hi - lo) / 2) + 1;
  for (let i = 0; i < attempts; i++) {
    const base = lo + 2 * Math.min(slots - 1, Math.floor(random() * slots));
    if (await isFree(base, opts.count)) return base;
  }
  throw new Error(
    `found no ${opts.count} free consecutive ports between ${lo} and ${hi + opts.count - 1} in ${attempts} tries`,
  );
}

/** `count` free consecutive ports (a random range checked by binding each one). */
export async function freePorts(count: number): Promise<number[]> {
  const base = await pickBasePort({ count });
  return Array.from({ length: count }, (_, i) => base + i);
}
