import { type Committee, verifyBatchQc, verifyBatchVote } from "../committee/index.ts";
import { aggregate, type Signer, type VerifyCache } from "../crypto/index.ts";
import {
  type AttestationRecord,
  type Batch,
  type BatchQc,
  type BatchVote,
  batchCommitmentHash,
  batchVoteSigningBody,
  bytesEqual,
  DOMAINS,
  type RecoveredAttestation,
  toHex,
} from "../types/index.ts";
import { BatchBuilder, type BatchParams } from "./batches.ts";
import {
  type AttestationConfig,
  type AttestationCounters,
  type AttestationEffect,
  type AttestationInput,
  VOTE_VERDICTS,
  type VoteVerdict,
} from "./types.ts";

/** Closed batches kept in memory above the next BatchQC; older or further ones are read back from storage. */
export const MAX_HELD_BATCHES = 256;

export interface AttestationMachineOptions {
  committee: Committee;
  /** Validator index, or null for an observer (never signs). */
  me: number | null;
  signer: Signer | null;
  config: AttestationConfig;
  params: BatchParams;
  recovered: RecoveredAttestation;
  verifyCache?: VerifyCache;
  /** Seeds the re-push counter (so a restarted node's pushes are new bytes to gossipsub). */
  nowMs: number;
}

type Write =
  | { kind: "record"; record: AttestationRecord; batch: Batch; vote: BatchVote }
  | { kind: "batch"; batch: Batch }
  | { kind: "batchQc"; qc: BatchQc; batch: Batch };

/**
 * Batch attestation (DESIGN section 13), pure. It cuts the executed chain
 * into batches, and as an attester signs the batch the main node names once
 * that batch is complete here and the attestation record {n, hash} is
 * durable, never a second hash for one number and never a number below the
 * record. It keeps the latest vote per attester for numbers in
 * [next, next + voteWindow), forms the BatchQC at attester weight >= Qa and
 * stores BatchQCs gap-free, each only when this node's own commitment for
 * that batch is the same hash; a quorum on another hash halts the node with
 * both hashes. The node's latest vote is re-pushed every repushMs until its
 * BatchQC is stored, each time with the next attempt number (outside the
 * signed body), so gossipsub's duplicate filter does not swallow it.
 */
export class AttestationMachine {
  readonly committee: Committee;
  readonly me: number | null;
  readonly counters: AttestationCounters;
  readonly #signer: Signer | null;
  readonly #config: AttestationConfig;
  readonly #cache: VerifyCache | undefined;
  readonly #builder: BatchBuilder;
  readonly #chainId: string;
  readonly #genesisHash: Uint8Array;

  /** Durable attestation record. */
  #record: AttestationRecord | null;
  /** Record write in flight (one at a time). */
  #recordWrite: { id: number; record: AttestationRecord; batch: Batch } | null = null;
  /** Latest status from the main node (next batch to attest), or null before the first. */
  #status: number | null = null;
  /** Closed batches by number (bounded), with their commitment hashes. */
  readonly #batches = new Map<number, { batch: Batch; hash: Uint8Array }>();
  /** Next batch number the batch store takes (closed batches below are stored or staged). */
  #batchesClosed: number;
  /** Next BatchQC number durable in the WAL, and next to stage. */
  #qcNext: number;
  #qcStageNext: number;
  /** BatchQCs held until they can be stored in order (numbers in the window). */
  readonly #qcs = new Map<number, BatchQc>();
  /** Latest vote per attester. */
  readonly #latest = new Map<number, BatchVote>();
  readonly #writes = new Map<number, Write>();
  /** The own vote being re-pushed until its BatchQC is stored. */
  #ownVote: BatchVote | null = null;
  /** When the own vote was first pushed (a BatchQC may have formed elsewhere while this node was away). */
  #ownVoteSinceMs = Number.POSITIVE_INFINITY;
  #attempt: number;
  #nextRepushAtMs = Number.POSITIVE_INFINITY;
  /** Highest batch number some peer or the main node shows a BatchQC exists for beyond ours. */
  #wantQcsUpTo = -1;
  #lastFetchAtMs = Number.NEGATIVE_INFINITY;
  /** Batches asked from storage, with when. */
  readonly #loading = new Map<number, number>();
  #timerAtMs = Number.POSITIVE_INFINITY;
  /** False once attesting was stopped (main node on another genesis). */
  #attesting = true;
  #halted: string | null = null;
  #nextWriteId = 0;
  /** Recovered executed indexes, cut into batches at start(). */
  readonly #pendingStart: AttestationInput[];

  constructor(opts: AttestationMachineOptions) {
    if ((opts.me === null) !== (opts.signer === null)) throw new Error("a validator needs a signer; an observer none");
    this.committee = opts.committee;
    this.me = opts.me;
    this.#signer = opts.signer;
    this.#config = opts.config;
    this.#cache = opts.verifyCache;
    this.#chainId = opts.committee.chainId;
    this.#genesisHash = opts.committee.genesisHash;
    const r = opts.recovered;
    this.#record = r.record;
    this.#qcNext = r.batchQcNext;
    this.#qcStageNext = r.batchQcNext;
    this.#builder = new BatchBuilder(opts.params, r.lastBatch);
    this.#batchesClosed = this.#builder.openNumber;
    if (r.lastBatch !== null) this.#hold(r.lastBatch);
    this.#attempt = Math.floor(opts.nowMs) % 2 ** 32;
    this.counters = {
      votes: Object.fromEntries(VOTE_VERDICTS.map((v) => [v, 0])) as Record<VoteVerdict, number>,
      batchQcsFormed: 0,
      batchQcsStored: 0,
      batchesClosed: 0,
      votesSigned: 0,
      repushes: 0,
    };
    // Executed before the crash but not yet cut into stored batches: cut them again.
    this.#pendingStart = r.executedAfter.map((e) => ({ kind: "executed" as const, block: e }));
  }

  get halted(): string | null {
    return this.#halted;
  }

  /** Next BatchQC number to store (BatchQCs below are durable): the main node's nextBatchToAttest. */
  get nextBatchQc(): number {
    return this.#qcNext;
  }

  /** The status this machine attests to (null before the first). */
  get status(): number | null {
    return this.#config.mainNode ? this.#qcNext : this.#status;
  }

  /** The durable attestation record. */
  get record(): AttestationRecord | null {
    return this.#record;
  }

  /** Number of the batch being filled. */
  get openBatch(): number {
    return this.#builder.openNumber;
  }

  get isAttester(): boolean {
    return this.me !== null && this.committee.attesters.isAttester(this.me) && this.#attesting;
  }

  /** Effects right after start: re-cut recovered indexes, re-send the identical latest vote. */
  start(nowMs: number): AttestationEffect[] {
    const out: AttestationEffect[] = [];
    for (const input of this.#pendingStart.splice(0)) this.#step(input, nowMs, out);
    const record = this.#record;
    if (record !== null && this.isAttester && record.number >= this.#qcNext) {
      // The signature is deterministic: the same record gives the identical vote.
      this.#ownVote = this.#sign(record);
      this.#ownVoteSinceMs = nowMs;
      this.#countVote(this.#ownVote);
      this.#push(nowMs, out);
    }
    this.#advance(nowMs, out);
    return out;
  }

  step(input: AttestationInput, nowMs: number): AttestationEffect[] {
    const out: AttestationEffect[] = [];
    if (this.#halted !== null) return out;
    this.#step(input, nowMs, out);
    if (this.#halted === null) this.#advance(nowMs, out);
    return out;
  }

  #step(input: AttestationInput, nowMs: number, out: AttestationEffect[]): void {
    switch (input.kind) {
      case "executed": {
        const closed = this.#builder.add(input.block);
        if (closed !== null) this.#closed(closed.batch, closed.blockHashes, out);
        return;
      }
      case "status":
        this.#onStatus(input.next, out);
        return;
      case "batchVote":
        this.#onVote(input.msg.vote, input.verified === true, out);
        return;
      case "batchQcs":
        for (const qc of input.qcs) this.#onSyncedQc(qc, out);
        return;
      case "batchLoaded":
        this.#loading.delete(input.batch.number);
        if (input.batch.number < this.#batchesClosed) this.#hold(input.batch);
        return;
      case "stopAttesting":
        this.#attesting = false;
        this.#ownVote = null;
        this.#nextRepushAtMs = Number.POSITIVE_INFINITY;
        return;
      case "durable":
        this.#onDurable(input.id, nowMs, out);
        return;
      case "timer":
        if (nowMs >= this.#nextRepushAtMs) this.#repush(nowMs, out);
        return;
    }
  }

  // ---- batches ----

  #closed(batch: Batch, blockHashes: Uint8Array[], out: AttestationEffect[]): void {
    const entry = this.#hold(batch);
    this.#batchesClosed = batch.number + 1;
    this.counters.batchesClosed++;
    const id = this.#writeId();
    this.#writes.set(id, { kind: "batch", batch });
    out.push({ kind: "persist", id, write: { kind: "batch", batch, blockHashes }, release: [] });
    out.push({ kind: "batchClosed", batch, hash: entry.hash });
  }

  /** Keeps a closed batch in memory when it can still matter (at or above the next BatchQC, within bound). */
  #hold(batch: Batch): { batch: Batch; hash: Uint8Array } {
    const entry = { batch, hash: batchCommitmentHash(this.#chainId, this.#genesisHash, batch) };
    if (batch.number >= this.#qcNext && batch.number < this.#qcNext + MAX_HELD_BATCHES) {
      this.#batches.set(batch.number, entry);
    }
    return entry;
  }

  /** Batch n with its hash when this node has closed it; asks storage when it is closed but not held. */
  #batch(n: number, nowMs: number, out: AttestationEffect[]): { batch: Batch; hash: Uint8Array } | null {
    const held = this.#batches.get(n);
    if (held !== undefined) return held;
    if (n >= this.#batchesClosed) return null;
    const asked = this.#loading.get(n);
    if (asked === undefined || nowMs - asked >= this.#config.repushMs) {
      this.#loading.set(n, nowMs);
      out.push({ kind: "loadBatch", number: n });
    }
    return null;
  }

  // ---- status and own votes ----

  #onStatus(next: number, out: AttestationEffect[]): void {
    if (!Number.isSafeInteger(next) || next < 0) return;
    if (this.#status !== null && next < this.#status) {
      out.push({
        kind: "event",
        level: "error",
        msg: "attestation status moved backwards; ignored",
        data: { from: this.#status, to: next },
      });
      return;
    }
    this.#status = next;
    // A BatchQC below `next` exists at the main node.
    if (next - 1 > this.#wantQcsUpTo) this.#wantQcsUpTo = next - 1;
  }

  #maybeVote(nowMs: number, out: AttestationEffect[]): void {
    if (!this.isAttester || this.#recordWrite !== null) return;
    const target = this.status;
    if (target === null) return;
    const record = this.#record;
    if (record !== null && target <= record.number) return;
    // Nothing to attest once its BatchQC is stored here.
    if (target < this.#qcNext) return;
    const entry = this.#batch(target, nowMs, out);
    if (entry === null) return;
    const next: AttestationRecord = { number: target, hash: entry.hash };
    const id = this.#writeId();
    // Signed now, released by the outbox only once the record is durable.
    const vote = this.#sign(next);
    this.counters.votesSigned++;
    this.#recordWrite = { id, record: next, batch: entry.batch };
    this.#writes.set(id, { kind: "record", record: next, batch: entry.batch, vote });
    out.push({
      kind: "persist",
      id,
      write: { kind: "attestation", record: next },
      release: [{ kind: "batchVote", msg: { vote, attempt: this.#nextAttempt() } }],
    });
  }

  #sign(record: AttestationRecord): BatchVote {
    const body = { number: record.number, hash: record.hash };
    return {
      body,
      signer: this.me!,
      signature: this.#signer!.sign(DOMAINS.batchVote, batchVoteSigningBody(body)),
    };
  }

  /** Re-pushes the own vote (its record is durable) with a new attempt number. */
  #push(nowMs: number, out: AttestationEffect[]): void {
    if (this.#ownVote === null) return;
    out.push({
      kind: "resend",
      release: [{ kind: "batchVote", msg: { vote: this.#ownVote, attempt: this.#nextAttempt() } }],
    });
    this.#nextRepushAtMs = nowMs + this.#config.repushMs;
  }

  #nextAttempt(): number {
    const a = this.#attempt;
    this.#attempt = (this.#attempt + 1) % 2 ** 32;
    return a;
  }

  #repush(nowMs: number, out: AttestationEffect[]): void {
    if (this.#ownVote === null || this.#ownVote.body.number < this.#qcNext) {
      this.#ownVote = null;
      this.#nextRepushAtMs = Number.POSITIVE_INFINITY;
      return;
    }
    this.counters.repushes++;
    this.#push(nowMs, out);
  }

  // ---- votes and BatchQCs ----

  #onVote(vote: BatchVote, verified: boolean, out: AttestationEffect[]): void {
    const verdict = this.#takeVote(vote, verified, out);
    this.counters.votes[verdict]++;
  }

  #takeVote(vote: BatchVote, verified: boolean, out: AttestationEffect[]): VoteVerdict {
    const n = vote.body.number;
    if (n < this.#qcNext) return "old";
    if (n >= this.#qcNext + this.#config.voteWindow) return "out_of_window";
    const prev = this.#latest.get(vote.signer);
    if (prev !== undefined && prev.body.number > n) return "superseded";
    if (prev !== undefined && prev.body.number === n) {
      if (bytesEqual(prev.body.hash, vote.body.hash)) return "duplicate";
      // Two signatures by one attester for one batch: keep the first.
      if (!verified && !verifyBatchVote(this.committee, vote, this.#cache).ok) return "invalid";
      out.push({
        kind: "event",
        level: "warn",
        msg: "attester signed two hashes for one batch (equivocation)",
        data: { signer: vote.signer, number: n, first: toHex(prev.body.hash), second: toHex(vote.body.hash) },
      });
      return "equivocation";
    }
    if (!verified && !verifyBatchVote(this.committee, vote, this.#cache).ok) return "invalid";
    this.#countVote(vote);
    return "accepted";
  }

  /** Records a verified vote as its signer's latest and forms the BatchQC it completes. */
  #countVote(vote: BatchVote): void {
    const n = vote.body.number;
    this.#latest.set(vote.signer, vote);
    if (n > this.#wantQcsUpTo + 1) this.#wantQcsUpTo = n - 1;
    if (this.#qcs.has(n) || n < this.#qcStageNext) return;
    const same = [...this.#latest.values()].filter(
      (v) => v.body.number === n && bytesEqual(v.body.hash, vote.body.hash),
    );
    const attesters = this.committee.attesters;
    if (attesters.weightOf(same.map((v) => v.signer)) < attesters.quorum) return;
    const agg = aggregate(same, this.committee.size);
    this.counters.batchQcsFormed++;
    this.#qcs.set(n, { body: vote.body, signers: agg.signers, signatures: agg.signatures });
  }

  #onSyncedQc(qc: BatchQc, out: AttestationEffect[]): void {
    const n = qc.body.number;
    if (n < this.#qcStageNext || n >= this.#qcNext + this.#config.voteWindow || this.#qcs.has(n)) return;
    const check = verifyBatchQc(this.committee, qc, this.#cache);
    if (!check.ok) {
      out.push({ kind: "event", level: "warn", msg: "invalid BatchQC from sync", data: { reason: check.reason } });
      return;
    }
    this.#qcs.set(n, qc);
  }

  /** Stages BatchQCs in order, each only after checking it against this node's own commitment. */
  #storeQcs(nowMs: number, out: AttestationEffect[]): void {
    for (;;) {
      const n = this.#qcStageNext;
      const qc = this.#qcs.get(n);
      if (qc === undefined) return;
      const own = this.#batch(n, nowMs, out);
      if (own === null) return;
      if (!bytesEqual(own.hash, qc.body.hash)) {
        this.#halt(
          `batch divergence at batch ${n}: local commitment ${toHex(own.hash)}, attester quorum signed ${toHex(qc.body.hash)}`,
          out,
        );
        return;
      }
      const id = this.#writeId();
      this.#writes.set(id, { kind: "batchQc", qc, batch: own.batch });
      out.push({ kind: "persist", id, write: { kind: "batchQc", qc }, release: [] });
      this.#qcStageNext = n + 1;
    }
  }

  #onDurable(id: number, nowMs: number, out: AttestationEffect[]): void {
    const w = this.#writes.get(id);
    if (w === undefined) return;
    this.#writes.delete(id);
    switch (w.kind) {
      case "batch":
        return;
      case "record": {
        this.#recordWrite = null;
        this.#record = w.record;
        if (w.record.number < this.#qcNext || !this.#attesting) return;
        // The outbox released the vote with this acknowledgement: count it, re-push it until its BatchQC.
        this.#ownVote = w.vote;
        this.#ownVoteSinceMs = nowMs;
        out.push({ kind: "attested", batch: w.batch, hash: w.record.hash });
        this.#countVote(w.vote);
        this.#nextRepushAtMs = nowMs + this.#config.repushMs;
        return;
      }
      case "batchQc": {
        const n = w.qc.body.number;
        this.#qcNext = n + 1;
        this.#qcs.delete(n);
        this.#batches.delete(n);
        for (const [signer, v] of this.#latest) if (v.body.number <= n) this.#latest.delete(signer);
        this.counters.batchQcsStored++;
        out.push({ kind: "batchQcStored", qc: w.qc, batch: w.batch });
        if (this.#ownVote !== null && this.#ownVote.body.number <= n) {
          this.#ownVote = null;
          this.#nextRepushAtMs = Number.POSITIVE_INFINITY;
        }
        return;
      }
    }
  }

  // ---- after every input ----

  #advance(nowMs: number, out: AttestationEffect[]): void {
    this.#storeQcs(nowMs, out);
    if (this.#halted !== null) return;
    this.#maybeVote(nowMs, out);
    // BatchQCs exist beyond what this node holds (a vote or the status says
    // so), or the own vote has waited a re-push interval for its BatchQC (it
    // may have formed while this node was away, and its votes are gone):
    // fetch them (rate-limited).
    let fetchAtMs = Number.POSITIVE_INFINITY;
    const ownVoteWaiting =
      this.#ownVote !== null &&
      this.#ownVote.body.number >= this.#qcStageNext &&
      nowMs - this.#ownVoteSinceMs >= this.#config.repushMs;
    if ((this.#wantQcsUpTo >= this.#qcStageNext || ownVoteWaiting) && !this.#qcs.has(this.#qcStageNext)) {
      if (nowMs - this.#lastFetchAtMs >= this.#config.repushMs) {
        this.#lastFetchAtMs = nowMs;
        out.push({ kind: "fetchBatchQcs", from: this.#qcStageNext });
      }
      fetchAtMs = this.#lastFetchAtMs + this.#config.repushMs;
    }
    let loadAtMs = Number.POSITIVE_INFINITY;
    for (const at of this.#loading.values()) loadAtMs = Math.min(loadAtMs, at + this.#config.repushMs);
    const deadline = Math.min(this.#nextRepushAtMs, fetchAtMs, loadAtMs);
    if (Number.isFinite(deadline) && (deadline !== this.#timerAtMs || nowMs >= this.#timerAtMs)) {
      this.#timerAtMs = deadline;
      out.push({ kind: "setTimer", deadlineMs: deadline });
    }
  }

  #halt(reason: string, out: AttestationEffect[]): void {
    this.#halted = reason;
    out.push({ kind: "event", level: "error", msg: reason });
    out.push({ kind: "halt", reason });
  }

  #writeId(): number {
    return this.#nextWriteId++;
  }
}
