/**
 * A gentle load generator for the cluster tests: every `intervalMs` it
 * posts a few unique `key=value` txs to the next of the currently running
 * targets, and remembers what each node accepted (202).
 */
import { type ClusterNode, sleep } from "../../scripts/cluster/index.ts";

export interface AcceptedTx {
  hash: string;
  key: string;
  value: string;
  node: string;
}

export class Load {
  readonly accepted: AcceptedTx[] = [];
  /** Requests refused (503 mempool full) or not answered (node down). */
  refused = 0;
  readonly #prefix: string;
  #seq = 0;
  #running: Promise<void> | null = null;
  #stopRequested = false;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Sends one batch of `count` txs to `node`; returns what it accepted. */
  async send(node: ClusterNode, count: number): Promise<AcceptedTx[]> {
    const txs: { key: string; value: string }[] = [];
    for (let i = 0; i < count; i++) {
      const n = this.#seq++;
      txs.push({ key: `${this.#prefix}-${n}`, value: `v${n}-${node.name}` });
    }
    const r = await node.post("/txs", { txs: txs.map((t) => `${t.key}=${t.value}`) });
    if (r.status !== 202) {
      this.refused++;
      return [];
    }
    const hashes = (r.body as { hashes: string[] }).hashes;
    const accepted = txs.map((t, i) => ({ hash: hashes[i]!, key: t.key, value: t.value, node: node.name }));
    this.accepted.push(...accepted);
    return accepted;
  }

  /** Starts the background loop over whatever `targets()` returns at each tick. */
  start(targets: () => ClusterNode[], opts: { intervalMs: number; txsPerRequest: number }): void {
    if (this.#running) throw new Error("load already running");
    this.#stopRequested = false;
    this.#running = (async () => {
      let turn = 0;
      while (!this.#stopRequested) {
        const live = targets();
        if (live.length > 0) {
          const node = live[turn++ % live.length]!;
          try {
            await this.send(node, opts.txsPerRequest);
          } catch {
            this.refused++;
          }
        }
        await sleep(opts.intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopRequested = true;
    await this.#running;
    this.#running = null;
  }

  acceptedBy(name: string): AcceptedTx[] {
    return this.accepted.filter((t) => t.node === name);
  }
}
