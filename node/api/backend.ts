import type { EvidenceJson } from "../types/index.ts";

/**
 * What the HTTP API needs from a running node. The runtime implements it;
 * tests use a fake. Shapes are the JSON the API returns (hashes lowercase hex).
 */

export interface StatusJson {
  chainId: string;
  moniker: string;
  validatorIndex: number | null;
  peerId: string;
  finalizedIndex: number;
  view: { index: number; round: number };
  lock: { index: number; round: number } | null;
  appHash: string;
  peers: number;
  mempoolTxs: number;
  lanes: { lane: number; next: number; finalizedNext: number }[];
  /**
   * Double-sign protection (README): "syncing" and "held" mean this
   * validator signs nothing yet; `floor` is the highest view it refuses to
   * sign in; "observer" for a node without a validator key.
   */
  signing: {
    state: "observer" | "syncing" | "held" | "active";
    floor: { index: number; round: number } | null;
    reason: string;
  };
  /** Present in the HA mode (DESIGN section 14). */
  ha?: HaStatusJson;
}

export interface HaStatusJson {
  role: "standby" | "reconciling" | "leader";
  epoch: number;
  /** Milliseconds the lease stays valid without another renewal (0 when not held). */
  leaseValidMs: number;
  instanceId: string;
  redis: { url: string; ok: boolean }[];
}

/**
 * "finalized": in finalized global block `index` and executed. "voided": in
 * finalized block `index`, but its lane range was voided (the lane owner
 * signed two blocks at one number), so it was never executed; resubmit it.
 * "pending": admitted here, not final yet.
 */
export interface TxStatusJson {
  hash: string;
  status: "pending" | "finalized" | "voided";
  index: number | null;
  reason?: string;
}

export interface CommitQcJson {
  view: { index: number; round: number };
  proposalHash: string;
  signers: number[];
  signatures: string[];
}

export interface BlockJson {
  index: number;
  hash: string;
  appHash: string | null;
  lanes: { lane: number; first: number; next: number }[];
  txCount: number;
  txHashes: string[];
  commitQc: CommitQcJson;
}

export interface PeerJson {
  peerId: string;
  addrs: string[];
  validatorIndex: number | null;
}

/** GET /attestation/status: what an attester polls (DESIGN section 13). */
export interface AttestationStatusJson {
  genesis: { chainId: string; genesisHash: string };
  /** Highest stored BatchQC + 1 (0 when none). */
  nextBatchToAttest: number;
}

/** A closed batch of the finalized chain and its BatchQC, if this node stored one. */
export interface BatchJson {
  number: number;
  firstIndex: number;
  lastIndex: number;
  /** The commitment the attesters sign (see README: how to recompute it). */
  hash: string;
  /** App hash after lastIndex. */
  appHash: string;
  /** Merkle root over the batch's global block hashes. */
  blocksRoot: string;
  /** Hash of global block lastIndex. */
  lastBlockHash: string;
  /** Agreed proposal time of firstIndex. */
  firstCreatedAtMs: number;
  /** Attester signer indexes and their batch_vote signatures, in signer order. */
  qc: { signers: number[]; signatures: string[] } | null;
}

/** GET /batches/:n/proof/:index: global block `index` is in batch n. */
export interface BatchProofJson {
  batch: number;
  index: number;
  /** Hash of global block `index` (its CommitQC's proposal hash). */
  blockHash: string;
  /** Position of the leaf (index - firstIndex) and number of leaves (lastIndex - firstIndex + 1). */
  leafIndex: number;
  leafCount: number;
  /** Sibling hashes from the leaf up (RFC 9162 audit path). */
  siblings: string[];
  blocksRoot: string;
  /** The batch's commitment. */
  batchHash: string;
}

export type BatchProofResult =
  | { ok: true; proof: BatchProofJson }
  | { ok: false; reason: "unknown_batch" | "not_in_batch"; message: string };

/**
 * GET /health: 200 ok; 206 syncing (behind its peers, or holding its votes
 * until double-sign protection lets it sign); 503 halted or stopping.
 */
export interface HealthJson {
  status: "ok" | "syncing" | "halted";
  finalizedIndex: number;
  reason?: string;
}

export type SubmitResult =
  | { accepted: true; hashes: string[] }
  | { accepted: false; reason: "mempool_full"; retryAfterMs: number }
  /** More txs in one request than the mempool can ever hold (lanes.mempoolMaxTxs): 413. */
  | { accepted: false; reason: "too_many"; message: string }
  | { accepted: false; reason: "not_accepting"; message: string; retryAfterMs: number };

export interface ApiBackend {
  status(): StatusJson;
  /** Absent: always ok (test backends). */
  health?(): HealthJson;
  /** Admits txs to the mempool, all or none. */
  submitTxs(txs: Uint8Array[]): SubmitResult;
  txStatus(hash: Uint8Array): Promise<TxStatusJson | null>;
  /** A finalized block; "latest" is the highest finalized index. */
  block(index: number | "latest"): Promise<BlockJson | null>;
  kvGet(key: Uint8Array): Promise<Uint8Array | null>;
  peers(): PeerJson[];
  attestationStatus(): AttestationStatusJson;
  /** A closed batch; "latest" is the highest closed batch (its qc may still be null). */
  batch(n: number | "latest"): Promise<BatchJson | null>;
  batchProof(n: number, index: number): Promise<BatchProofResult>;
  /** Prometheus text exposition. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Equivocation proofs on record (bounded). */
  evidence(): EvidenceJson[];
}
