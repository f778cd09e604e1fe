import type {
  ApiBackend,
  BatchJson,
  BlockJson,
  HaStatusJson,
  StatusJson,
  SubmitResult,
  TxStatusJson,
} from "../api/index.ts";
import type { Network } from "../net/index.ts";
import type { Metrics } from "../observability/index.ts";
import type { ProtocolNode } from "../protocol/index.ts";
import type { Storage } from "../storage/index.ts";
import {
  type Batch,
  type BatchQc,
  batchCommitmentHash,
  blockHash,
  concatBytes,
  evidenceToJson,
  type GlobalBlock,
  leafHash,
  merklePath,
  proposalHash,
  toHex,
  txHashHex,
  txHashList,
  txHashListHex,
} from "../types/index.ts";
import type { NodeHome } from "./home.ts";

/** How long a client should wait before retrying when the mempool is full. */
const RETRY_AFTER_MS = 1000;
/** An observer never takes txs: clients should move on rather than retry soon. */
const OBSERVER_RETRY_AFTER_MS = 60_000;
/** Behind by more than this many indexes (messages seen from peers): /health says syncing. */
const SYNCING_LAG = 2;
const KV_PREFIX = new TextEncoder().encode("kv/");

/**
 * Transactions this node admitted and has not seen finalized: the source of
 * "pending" and of the finality latency histogram. Bounded; when full, the
 * oldest entries are forgotten (their txs still finalize, unmeasured).
 */
export class PendingTxs {
  readonly capacity: number;
  readonly #since = new Map<string, number>();

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  get size(): number {
    return this.#since.size;
  }

  /** Remembers an admitted tx by its hex hash (computed once, at admission). */
  add(hash: string, nowMs: number): void {
    if (!this.#since.has(hash)) {
      if (this.#since.size >= this.capacity) {
        const oldest = this.#since.keys().next().value;
        if (oldest !== undefined) this.#since.delete(oldest);
      }
      this.#since.set(hash, nowMs);
    }
  }

  has(hash: string): boolean {
    return this.#since.has(hash);
  }

  remove(hash: string): void {
    this.#since.delete(hash);
  }

  /** Forgets a finalized tx by its hex hash; returns when it was admitted, if it was admitted here. */
  finalize(hash: string): number | undefined {
    if (this.#since.size === 0) return undefined;
    const since = this.#since.get(hash);
    if (since !== undefined) this.#since.delete(hash);
    return since;
  }
}

export interface ApiBackendParts {
  home: NodeHome;
  /** The current protocol (the HA mode rebuilds it on a role change). */
  protocol: () => ProtocolNode;
  storage: Storage;
  net: Network;
  metrics: Metrics;
  pending: PendingTxs;
  /** Hands admitted txs to the event loop, with their hex hashes (each tx hashed once, here). */
  submit(txs: Uint8Array[], hashes: string[]): void;
  /** Txs handed to the loop and not yet stepped. */
  queuedTxs(): number;
  /** False while stopping or halted. */
  accepting(): boolean;
  /** Double-sign protection state (issue 15). */
  signing(): StatusJson["signing"];
  /** Highest consensus index seen in any message (own or peers'). */
  highestSeenIndex(): number;
  /** Brings the metrics the state machines count up to date; called before each scrape. */
  refreshMetrics(): void;
  /** HA status, or undefined without [ha]. */
  ha?: () => HaStatusJson;
  /** False on an HA standby (it has no lane to put txs in). */
  haSigning?: () => boolean;
}

/** The running node as the HTTP API sees it. Reads only; writes go through the event loop. */
export function createApiBackend(parts: ApiBackendParts): ApiBackend {
  const { home, storage, net, metrics, pending } = parts;
  const { config, committee } = home;

  return {
    status() {
      const protocol = parts.protocol();
      const view = protocol.consensus.view;
      const lock = protocol.consensus.lock;
      const finalRanges = protocol.consensus.lastCommitQc?.proposal.ranges;
      return {
        chainId: committee.chainId,
        moniker: config.node.moniker,
        validatorIndex: home.validatorIndex,
        peerId: home.peerId,
        finalizedIndex: protocol.consensus.finalizedIndex,
        view: { index: view.index, round: view.round },
        lock: lock ? { index: lock.proposal.view.index, round: lock.proposal.view.round } : null,
        appHash: toHex(protocol.execution.appHash),
        peers: net.peers().length,
        mempoolTxs: protocol.lanes.mempoolSize + parts.queuedTxs(),
        lanes: committee.members.map((m) => ({
          lane: m.index,
          next: protocol.lanes.laneNext(m.index),
          finalizedNext: finalRanges?.[m.index]?.next ?? 0,
        })),
        signing: parts.signing(),
        ...(parts.ha ? { ha: parts.ha() } : {}),
      };
    },

    health() {
      const protocol = parts.protocol();
      const finalizedIndex = protocol.consensus.finalizedIndex;
      if (protocol.halted !== null) return { status: "halted", finalizedIndex, reason: protocol.halted };
      if (!parts.accepting()) return { status: "halted", finalizedIndex, reason: "the node is stopping" };
      const signing = parts.signing();
      if (signing.state === "syncing") return { status: "syncing", finalizedIndex, reason: signing.reason };
      const seen = parts.highestSeenIndex();
      if (seen > finalizedIndex + SYNCING_LAG) {
        return { status: "syncing", finalizedIndex, reason: `peers are at index ${seen}` };
      }
      return { status: "ok", finalizedIndex };
    },

    submitTxs(txs): SubmitResult {
      if (!parts.accepting()) {
        return {
          accepted: false,
          reason: "not_accepting",
          message: "the node is stopping",
          retryAfterMs: RETRY_AFTER_MS,
        };
      }
      if (home.validatorIndex === null) {
        return {
          accepted: false,
          reason: "not_accepting",
          message: "this node is an observer and has no lane; send transactions to a validator",
          retryAfterMs: OBSERVER_RETRY_AFTER_MS,
        };
      }
      if (txs.length > config.lanes.mempoolMaxTxs) {
        return {
          accepted: false,
          reason: "too_many",
          message:
            `this request holds ${txs.length} txs, more than this node's mempool can ever hold ` +
            `(lanes.mempoolMaxTxs = ${config.lanes.mempoolMaxTxs}); none was accepted: send at most ${config.lanes.mempoolMaxTxs} per request`,
        };
      }
      if (parts.haSigning && !parts.haSigning()) {
        return {
          accepted: false,
          reason: "not_accepting",
          message: "this instance is an HA standby; send transactions to the active instance",
          retryAfterMs: OBSERVER_RETRY_AFTER_MS,
        };
      }
      const protocol = parts.protocol();
      const waiting = protocol.lanes.mempoolSize + parts.queuedTxs() + ownUnfinalizedTxs(home, protocol);
      if (protocol.lanes.mempoolFull || waiting + txs.length > config.lanes.mempoolMaxTxs) {
        metrics.mempoolRejected.inc(txs.length);
        return { accepted: false, reason: "mempool_full", retryAfterMs: RETRY_AFTER_MS };
      }
      const hashes = txs.map((tx) => txHashHex(tx));
      parts.submit(txs, hashes);
      return { accepted: true, hashes };
    },

    txStatus(hash) {
      return txStatusOf(storage, pending, hash);
    },

    async block(index) {
      const k = index === "latest" ? storage.chain.tip : index;
      if (k < 1) return null;
      const block = await storage.globalBlock(k);
      if (block === undefined) return null;
      const appHash = await storage.appHashAt(k);
      // The hashes as stored with the block (computed once, by execution); hashed here only if absent.
      const txHashes = (await storage.chain.txHashes(k)) ?? txHashList(block.blocks);
      return blockJson(block, appHash ?? null, txHashes);
    },

    attestationStatus() {
      return {
        genesis: { chainId: committee.chainId, genesisHash: toHex(committee.genesisHash) },
        // What the machine knows durable (the WAL's cursor moves when a write is staged).
        nextBatchToAttest: parts.protocol().attestation.nextBatchQc,
      };
    },

    async batch(n) {
      const number = n === "latest" ? storage.attestation.batches.next - 1 : n;
      if (number < 0) return null;
      const batch = await storage.batch(number);
      if (batch === undefined) return null;
      return batchJson(committee.chainId, committee.genesisHash, batch, (await storage.batchQc(number)) ?? null);
    },

    async batchProof(n, index) {
      const batch = await storage.batch(n);
      const hashes = batch === undefined ? undefined : await storage.batchBlockHashes(n);
      if (batch === undefined || hashes === undefined) {
        return { ok: false, reason: "unknown_batch", message: `batch ${n} has not closed here` };
      }
      if (index < batch.firstIndex || index > batch.lastIndex) {
        return {
          ok: false,
          reason: "not_in_batch",
          message: `index ${index} is not in batch ${n} (indexes ${batch.firstIndex}..${batch.lastIndex})`,
        };
      }
      const leaves = hashes.map((h, i) => leafHash(batch.firstIndex + i, h));
      const position = index - batch.firstIndex;
      return {
        ok: true,
        proof: {
          batch: n,
          index,
          blockHash: toHex(hashes[position]!),
          leafIndex: position,
          leafCount: leaves.length,
          siblings: merklePath(leaves, position).map(toHex),
          blocksRoot: toHex(batch.blocksRoot),
          batchHash: toHex(batchCommitmentHash(committee.chainId, committee.genesisHash, batch)),
        },
      };
    },

    async kvGet(key) {
      return (await storage.appGet(concatBytes(KV_PREFIX, key))) ?? null;
    },

    peers() {
      return net.peers().map((p) => ({ peerId: p.peerId, addrs: p.addrs, validatorIndex: p.validatorIndex }));
    },

    async metrics() {
      parts.refreshMetrics();
      return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
    },

    evidence() {
      return storage.evidence.list().map(evidenceToJson);
    },
  };
}

export const VOIDED_REASON =
  "finalized in a lane range that execution voided (the lane owner signed two blocks at one number); the tx was not executed: resubmit it";

/**
 * A tx's status: executed (finalized) wins over voided, since a tx voided in
 * one block may be executed in a later one; then pending; else unknown.
 */
export async function txStatusOf(
  storage: Pick<Storage, "txLocation" | "voidedTxLocation">,
  pending: Pick<PendingTxs, "has">,
  hash: Uint8Array,
): Promise<TxStatusJson | null> {
  const hex = toHex(hash);
  const executed = await storage.txLocation(hash);
  if (executed !== undefined) return { hash: hex, status: "finalized", index: executed.index };
  const voided = await storage.voidedTxLocation(hash);
  if (voided !== undefined) return { hash: hex, status: "voided", index: voided.index, reason: VOIDED_REASON };
  if (pending.has(hex)) return { hash: hex, status: "pending", index: null };
  return null;
}

/**
 * Txs in this validator's own lane blocks that are not final yet. They count
 * against the admission bound together with the mempool: otherwise a node
 * under overload keeps admitting while its lane window fills with blocks
 * waiting for consensus, and clients see latency grow instead of a 503.
 */
export function ownUnfinalizedTxs(home: Pick<NodeHome, "validatorIndex">, protocol: ProtocolNode): number {
  const me = home.validatorIndex;
  if (me === null) return 0;
  const finalizedNext = protocol.consensus.lastCommitQc?.proposal.ranges[me]?.next ?? 0;
  let txs = 0;
  for (let n = finalizedNext; n < protocol.lanes.laneNext(me); n++) {
    txs += protocol.lanes.heldBlock(me, n)?.header.txCount ?? 0;
  }
  return txs;
}

function batchJson(chainId: string, genesisHash: Uint8Array, b: Batch, qc: BatchQc | null): BatchJson {
  return {
    number: b.number,
    firstIndex: b.firstIndex,
    lastIndex: b.lastIndex,
    hash: toHex(batchCommitmentHash(chainId, genesisHash, b)),
    appHash: toHex(b.appHash),
    blocksRoot: toHex(b.blocksRoot),
    lastBlockHash: toHex(b.lastBlockHash),
    firstCreatedAtMs: b.firstCreatedAtMs,
    qc: qc === null ? null : { signers: qc.signers.getTrueBitIndexes(), signatures: qc.signatures.map(toHex) },
  };
}

function blockJson(block: GlobalBlock, appHash: Uint8Array | null, hashList: Uint8Array): BlockJson {
  const qc = block.commitQc;
  const txHashes = txHashListHex(hashList);
  return {
    index: block.index,
    hash: toHex(blockHash(qc.proposal)),
    appHash: appHash === null ? null : toHex(appHash),
    lanes: qc.proposal.ranges.map((r) => ({ lane: r.lane, first: r.first, next: r.next })),
    txCount: txHashes.length,
    txHashes,
    commitQc: {
      view: { index: qc.proposal.view.index, round: qc.proposal.view.round },
      proposalHash: toHex(proposalHash(qc.proposal)),
      signers: qc.signers.getTrueBitIndexes(),
      signatures: qc.signatures.map(toHex),
    },
  };
}
