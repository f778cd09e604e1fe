/** Fault kinds the chaos runner injects. */
export const FAULT_KINDS = ["kill9", "sigstop", "sigterm", "wipe", "partition"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type Fault =
  /** SIGKILL node `node`, start it again after `downMs`. */
  | { kind: "kill9"; atMs: number; node: number; downMs: number }
  /** SIGSTOP node `node`, SIGCONT after `downMs`. */
  | { kind: "sigstop"; atMs: number; node: number; downMs: number }
  /** SIGTERM node `node` (a clean stop), start it again at once. */
  | { kind: "sigterm"; atMs: number; node: number; downMs: 0 }
  /** SIGKILL the observer, delete its data, start it again: it resyncs from nothing. */
  | { kind: "wipe"; atMs: number; node: number; downMs: 0 }
  /** Cut every link between `side` and the other nodes for `downMs`. */
  | { kind: "partition"; atMs: number; side: number[]; downMs: number };

/** A small seeded PRNG (mulberry32): the same seed gives the same schedule. */
export class Prng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
}

export interface ScheduleOptions {
  seed: number;
  /** Length of the fault phase: no fault starts or lasts beyond it. */
  faultPhaseMs: number;
  validators: number;
  /** Index of the observer (after the validators). */
  observer: number;
  /** Partitions only where network namespaces work. */
  partitions: boolean;
}

/**
 * One fault at a time, each healed before the next starts after a short
 * gap; kinds drawn with equal weight from what the machine allows, targets
 * from the seed. The observer wipe happens at most once per 60 s of faults
 * and never last (its resync would then decide the final lag check alone).
 */
export function makeSchedule(o: ScheduleOptions): Fault[] {
  const rng = new Prng(o.seed);
  const kinds = FAULT_KINDS.filter((k) => o.partitions || k !== "partition");
  const faults: Fault[] = [];
  const nodes = o.observer + 1;
  let at = rng.int(3_000, 6_000);
  let wipes = 0;
  const maxWipes = Math.max(1, Math.floor(o.faultPhaseMs / 60_000));
  for (;;) {
    let kind = rng.pick(kinds);
    if (kind === "wipe" && (wipes >= maxWipes || at > o.faultPhaseMs * 0.7)) kind = "kill9";
    const downMs =
      kind === "kill9"
        ? rng.int(1_000, 5_000)
        : kind === "sigstop"
          ? rng.int(1_000, 6_000)
          : kind === "partition"
            ? rng.int(2_000, 8_000)
            : 0;
    // A restart takes a few seconds of its own: leave room for it in the phase.
    if (at + downMs + 3_000 > o.faultPhaseMs) break;
    if (kind === "wipe") {
      wipes++;
      faults.push({ kind, atMs: at, node: o.observer, downMs: 0 });
    } else if (kind === "partition") {
      // One validator alone, or two against two; the observer on a random side.
      const order = Array.from({ length: o.validators }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const side = order.slice(0, rng.next() < 0.5 ? 1 : Math.floor(o.validators / 2));
      if (rng.next() < 0.5) side.push(o.observer);
      faults.push({ kind, atMs: at, side: side.sort((a, b) => a - b), downMs });
    } else {
      faults.push({ kind, atMs: at, node: rng.int(0, nodes - 1), downMs } as Fault);
    }
    at += downMs + rng.int(2_000, 5_000);
  }
  return faults;
}

export function describeFault(f: Fault): string {
  if (f.kind === "partition") return `partition [${f.side.join(",")}] for ${f.downMs} ms`;
  return `${f.kind} node ${f.node}${f.downMs > 0 ? ` for ${f.downMs} ms` : ""}`;
}
