import type { ClusterNode } from "../cluster/index.ts";

/** Blocks read from one node per scan: the rest waits for the next scan. */
const MAX_BLOCKS_PER_SCAN = 400;
/** Requests in flight per node during a scan. */
const SCAN_CONCURRENCY = 8;

interface Canonical {
  hash: string;
  appHash: string | null;
  /** The node that reported it first. */
  from: string;
}

/**
 * The chaos runner's chain invariants, checked as the nodes finalize: every
 * node's block at every index must have the same hash and app hash as every
 * other node's, and a tx, once seen final at an index, is at that index on
 * every node. Each node is read forward from a cursor, so every index of
 * every node is compared exactly once (a wiped node is read again from the
 * start, which checks its resynced chain too).
 */
export class ChainChecker {
  readonly #canonical = new Map<number, Canonical>();
  readonly #txIndex = new Map<string, number>();
  readonly #cursors = new Map<string, number>();
  readonly violations: string[] = [];
  blocksChecked = 0;

  /** Highest index compared on the given node. */
  checkedUpTo(node: ClusterNode): number {
    return this.#cursors.get(node.name) ?? 0;
  }

  /** The node's data was deleted: read it again from index 1. */
  reset(node: ClusterNode): void {
    this.#cursors.set(node.name, 0);
  }

  /** Index at which the tx was seen final, if it was. */
  txIndex(hash: string): number | undefined {
    return this.#txIndex.get(hash);
  }

  get indexes(): number {
    return this.#canonical.size;
  }

  get txs(): number {
    return this.#txIndex.size;
  }

  /** Reads the node's newly final blocks (up to `upTo`, default its finalized index) and compares them. */
  async scan(node: ClusterNode, upTo?: number): Promise<void> {
    const status = await node.status();
    if (status === null) return;
    const from = (this.#cursors.get(node.name) ?? 0) + 1;
    const to = Math.min(upTo ?? status.finalizedIndex, from + MAX_BLOCKS_PER_SCAN - 1);
    let next = from;
    let stop = false;
    const fetched = new Map<number, Awaited<ReturnType<ClusterNode["block"]>>>();
    const worker = async () => {
      while (!stop && next <= to) {
        const i = next++;
        try {
          const b = await node.block(i);
          fetched.set(i, b);
          if (b === null) stop = true;
        } catch {
          stop = true;
        }
      }
    };
    await Promise.all(Array.from({ length: SCAN_CONCURRENCY }, worker));
    let cursor = from - 1;
    for (let i = from; i <= to; i++) {
      const b = fetched.get(i);
      // Not executed (or answered) there yet: the next scan goes on from here.
      if (b === undefined || b === null) break;
      this.#compare(node.name, b);
      cursor = i;
    }
    this.#cursors.set(node.name, cursor);
  }

  #compare(name: string, b: { index: number; hash: string; appHash: string | null; txHashes: string[] }): void {
    this.blocksChecked++;
    const c = this.#canonical.get(b.index);
    if (c === undefined) this.#canonical.set(b.index, { hash: b.hash, appHash: b.appHash, from: name });
    else {
      if (c.hash !== b.hash)
        this.violations.push(`index ${b.index}: hash ${b.hash} on ${name}, ${c.hash} on ${c.from}`);
      if (c.appHash === null) c.appHash = b.appHash;
      else if (b.appHash !== null && c.appHash !== b.appHash) {
        this.violations.push(`index ${b.index}: app hash ${b.appHash} on ${name}, ${c.appHash} on ${c.from}`);
      }
    }
    for (const h of b.txHashes) {
      const at = this.#txIndex.get(h);
      if (at === undefined) this.#txIndex.set(h, b.index);
      else if (at !== b.index) this.violations.push(`tx ${h}: final at ${at}, and at ${b.index} on ${name}`);
    }
  }
}
