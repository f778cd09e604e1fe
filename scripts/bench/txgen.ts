import { createHash } from "node:crypto";

/**
 * Load transactions: `key=value` text of exactly `txBytes` UTF-8 bytes (ASCII
 * only), the key unique per run and sequence number, so every tx has its
 * own hash and sets its own key in the kv app.
 */
export function makeTx(runId: string, seq: number, txBytes: number): string {
  const key = `load.${runId}.${seq}`;
  const pad = txBytes - key.length - 1;
  if (pad < 1) throw new RangeError(`txBytes ${txBytes} is too small for key ${key}`);
  return `${key}=${"v".repeat(pad)}`;
}

/** The node's tx hash: SHA-256 of the tx bytes, lowercase hex (what POST /txs answers). */
export function txHashHex(tx: string): string {
  return createHash("sha256").update(tx, "utf8").digest("hex");
}

/**
 * Open-loop schedule: how many txs are due `elapsedMs` after the start at
 * `rateTps`, capped at the run's total. The sender compares this with what it
 * already sent, so a late timer sends a bigger batch instead of lowering the
 * offered rate.
 */
export function dueTxs(rateTps: number, elapsedMs: number, totalTxs: number): number {
  return Math.min(totalTxs, Math.floor((rateTps * Math.max(0, elapsedMs)) / 1000));
}

/**
 * Spreads txs with sequence numbers [from, to) over `targets` round-robin by
 * sequence number and cuts each target's share into requests of at most
 * `maxPerRequest`.
 */
export function planBatches(from: number, to: number, targets: number, maxPerRequest: number): number[][][] {
  const perTarget: number[][] = Array.from({ length: targets }, () => []);
  for (let seq = from; seq < to; seq++) perTarget[seq % targets]!.push(seq);
  return perTarget.map((seqs) => {
    const batches: number[][] = [];
    for (let i = 0; i < seqs.length; i += maxPerRequest) batches.push(seqs.slice(i, i + maxPerRequest));
    return batches;
  });
}
