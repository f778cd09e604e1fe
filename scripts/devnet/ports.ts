import { createServer } from "node:net";

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
  /** Ports the cluster needs from the base on (2 per node, plus room for joins). */
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
 * A random even base port whose `count` ports are all free right now.
 * Random rather than fixed, so two clusters (two checkouts, a test and a
 * developer's devnet) do not collide by accident; the bind check catches
 * ports already in use.
 */
export async function pickBasePort(opts: PickPortOptions): Promise<number> {
  const { lo, hi } = baseRange(opts.count, opts.min, opts.max);
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
