import {
  type Check,
  type Committee,
  linksToParent,
  verifyAppQc,
  verifyBatchQc,
  verifyCommitQc,
  verifyLaneBlock,
  verifyPrepareQc,
} from "../committee/index.ts";
import type { VerifyCache } from "../crypto/index.ts";
import {
  type Anchor,
  type Batch,
  batchCommitmentHash,
  blockHash,
  bytesEqual,
  type CommitQc,
  codecs,
  compareViews,
  headerHash,
  type LaneBlock,
  leafHash,
  merkleRoot,
  proposalHash,
  type RecoveredAttestation,
  type RecoveredExecuted,
  type RecoveredLane,
  type RecoveredState,
  type SafetyRecord,
  toHex,
  type View,
  viewKey,
  ZERO_HASH,
} from "../types/index.ts";
import { RecoveryError } from "./errors.ts";
import type { IndexedWal, WalReplay } from "./indexed-wal.ts";
import { checkChainData } from "./integrity.ts";
import { rangeName } from "./keys.ts";
import type { Storage } from "./storage.ts";

/**
 * Reads the whole durable state once, validates it and returns it for the
 * state machines. Anything that does not validate stops start-up with a
 * RecoveryError naming the key range and the remedy: the node never guesses
 * what it signed before. The same code runs over memory-level in the simulator.
 */
export interface RecoverOptions {
  /** Newest global blocks checked in depth (hash links, lane chains, tx index); all keys are checked always. */
  deepCheckBlocks?: number;
}

/** Default of storage.deepCheckBlocksAtStart for callers without a config (the simulator, tests). */
export const DEFAULT_DEEP_CHECK_BLOCKS = 256;

export async function recover(
  storage: Storage,
  committee: Committee,
  cache?: VerifyCache,
  opts: RecoverOptions = {},
): Promise<RecoveredState> {
  const started = performance.now();
  const cqc = await replayWal(storage.commitQcs.wal);
  const anchor = storage.anchor.current;
  const commitQcs = checkCommitQcs(committee, cqc, cache);
  if (anchor !== null) checkAnchor(committee, anchor, cqc, cache);
  else if (cqc.first > 1) {
    throw new RecoveryError(rangeName("cqc", 1, cqc.first - 1), "CommitQCs were pruned but there is no pruning anchor");
  }

  const lanes: RecoveredLane[] = [];
  for (let lane = 0; lane < committee.size; lane++) {
    lanes.push(await recoverLane(committee, storage.lanes.wal(lane), lane, anchor, cache));
  }

  for (const d of divergedFromFinalized(lanes, anchor, commitQcs)) {
    storage.logger.warn(
      d,
      "lane WAL holds another branch than the finalized one: its owner signed two blocks at one number (equivocation)",
    );
  }

  const finalizedIndex = Math.max(cqc.next - 1, anchor?.commitQc.proposal.view.index ?? 0);
  const safety = storage.safety.current;
  if (safety !== null) checkSafety(committee, safety, cqc, commitQcs, storage.safety.carriedIndex, cache);

  const executedIndex = storage.app.executedIndex;
  if (executedIndex > finalizedIndex) {
    throw new RecoveryError(
      "app/state",
      `executed index ${executedIndex} is beyond the finalized index ${finalizedIndex}`,
    );
  }
  const chainTip = storage.chain.tip;
  if (chainTip > finalizedIndex) {
    throw new RecoveryError(
      rangeName("chain/block", finalizedIndex + 1, chainTip),
      `global blocks beyond the finalized index ${finalizedIndex}`,
    );
  }
  // Below the anchor too: the chain and app data the API and peers read.
  const deep = opts.deepCheckBlocks ?? DEFAULT_DEEP_CHECK_BLOCKS;
  const chain = await checkChainData(storage, committee, finalizedIndex, chainTip - deep + 1);

  const attestation = await recoverAttestation(storage, committee, executedIndex, cache);

  const state: RecoveredState = {
    anchor,
    lanes,
    commitQcs,
    finalizedIndex,
    safety,
    safetyFloorIndex: storage.safety.carriedIndex,
    ownLaneFloor: storage.safety.carriedOwnLaneNext,
    app: { executedIndex, appHash: storage.app.appHash },
    chainTip,
    attestation,
  };
  storage.logger.info(
    {
      finalizedIndex,
      commitQcs: `${cqc.first}..${cqc.next - 1}`,
      anchor: anchor?.commitQc.proposal.view.index ?? 0,
      lanes: lanes.map((l) => `${l.first}..${l.next - 1}`).join(" "),
      lock: safety?.lock ? viewKey(safety.lock.proposal.view) : null,
      executedIndex,
      chainTip,
      checked: { blocks: chain.blocks, deepBlocks: chain.deepBlocks, appHashes: chain.appHashes },
      carriedSafetyIndex: storage.safety.carriedIndex || undefined,
      batches: attestation.lastBatch === null ? 0 : attestation.lastBatch.number + 1,
      batchQcs: attestation.batchQcNext,
      attested: attestation.record?.number ?? null,
      durationMs: Math.round(performance.now() - started),
    },
    "recovered durable state",
  );
  return state;
}

async function replayWal<T>(wal: IndexedWal<T>): Promise<WalReplay<T>> {
  checkWalDamage(wal);
  try {
    return await wal.replay();
  } catch (err) {
    throw new RecoveryError(wal.name, (err as Error).message);
  }
}

/** A WAL with a gap, stray entries or foreign keys is rejected, naming the range. */
function checkWalDamage<T>(wal: IndexedWal<T>): void {
  const d = wal.damage;
  if (d.missing !== null) {
    throw new RecoveryError(
      rangeName(wal.name, d.missing.from, d.missing.to - 1),
      `entries are missing below the WAL cursor ${d.missing.to} (a gap)`,
    );
  }
  if (d.stray.length > 0) {
    const lo = Math.min(...d.stray);
    const hi = Math.max(...d.stray);
    throw new RecoveryError(
      rangeName(wal.name, lo, hi),
      `${d.stray.length} entries lie outside the contiguous run ${wal.first}..${wal.next - 1} (after a gap or below the first entry)`,
    );
  }
  if (d.badKeys > 0) throw new RecoveryError(`${wal.name}/*`, `${d.badKeys} keys are not 8-byte indexes`);
}

function fail(keyRange: string, check: Check): void {
  if (!check.ok) throw new RecoveryError(keyRange, check.reason);
}

function checkCommitQcs(committee: Committee, cqc: WalReplay<CommitQc>, cache?: VerifyCache): CommitQc[] {
  let prev: CommitQc | undefined;
  for (const { index, value: qc } of cqc.entries) {
    const key = `cqc/${index}`;
    if (qc.proposal.view.index !== index) {
      throw new RecoveryError(key, `holds CommitQC for index ${qc.proposal.view.index}`);
    }
    checkRanges(committee, key, qc);
    fail(key, verifyCommitQc(committee, qc, cache));
    if (prev !== undefined) linkRanges(key, prev, qc);
    prev = qc;
  }
  return cqc.entries.map((e) => e.value);
}

function checkRanges(committee: Committee, key: string, qc: CommitQc): void {
  const ranges = qc.proposal.ranges;
  if (ranges.length !== committee.size) {
    throw new RecoveryError(key, `${ranges.length} lane ranges for a committee of ${committee.size}`);
  }
  ranges.forEach((r, lane) => {
    if (r.lane !== lane || r.next < r.first) throw new RecoveryError(key, `malformed range for lane ${lane}`);
  });
}

/** CommitQC(k)'s ranges start where CommitQC(k-1)'s ended. */
function linkRanges(key: string, prev: CommitQc, qc: CommitQc): void {
  qc.proposal.ranges.forEach((r, lane) => {
    const before = prev.proposal.ranges[lane]!;
    if (r.first !== before.next) {
      throw new RecoveryError(
        key,
        `lane ${lane} range starts at ${r.first}, the previous CommitQC ended at ${before.next}`,
      );
    }
  });
}

function checkAnchor(committee: Committee, anchor: Anchor, cqc: WalReplay<CommitQc>, cache?: VerifyCache): void {
  const k = anchor.commitQc.proposal.view.index;
  if (anchor.appQc.body.index !== k) {
    throw new RecoveryError("meta/anchor", `CommitQC(${k}) is paired with AppQC(${anchor.appQc.body.index})`);
  }
  checkRanges(committee, "meta/anchor", anchor.commitQc);
  fail("meta/anchor", verifyCommitQc(committee, anchor.commitQc, cache));
  fail("meta/anchor", verifyAppQc(committee, anchor.appQc, cache));
  if (k >= cqc.next) {
    throw new RecoveryError(
      `meta/anchor, ${rangeName("cqc", cqc.next, k)}`,
      `the anchor is at index ${k}, beyond the CommitQC WAL (next ${cqc.next})`,
    );
  }
  if (cqc.first > k) {
    throw new RecoveryError(
      rangeName("cqc", k, cqc.first - 1),
      `the CommitQC WAL starts at ${cqc.first}, after the anchor ${k} (a gap after the anchor)`,
    );
  }
  const held = cqc.entries.find((e) => e.index === k);
  if (held !== undefined && !codecs.proposalQc.equals(held.value, anchor.commitQc)) {
    throw new RecoveryError(`meta/anchor, cqc/${k}`, "the anchor's CommitQC differs from the WAL's");
  }
}

async function recoverLane(
  committee: Committee,
  wal: IndexedWal<LaneBlock>,
  lane: number,
  anchor: Anchor | null,
  cache?: VerifyCache,
): Promise<RecoveredLane> {
  const replay = await replayWal(wal);
  const anchorRange = anchor?.commitQc.proposal.ranges[lane];
  const floor = anchorRange?.next ?? 0;
  if (replay.first > floor) {
    throw new RecoveryError(
      rangeName(`lane/${lane}`, floor, replay.first - 1),
      anchor === null
        ? "lane blocks were pruned but there is no pruning anchor"
        : `blocks ${floor}..${replay.first - 1} are missing after the anchor's range (a gap after the anchor)`,
    );
  }
  let parent: Uint8Array | null = null;
  if (replay.first === 0) parent = ZERO_HASH;
  else if (anchorRange !== undefined && anchorRange.next === replay.first) parent = anchorRange.lastHash;
  for (const { index, value: block } of replay.entries) {
    const key = `lane/${lane}/${index}`;
    if (block.header.lane !== lane || block.header.number !== index) {
      throw new RecoveryError(key, `holds block ${block.header.lane}/${block.header.number}`);
    }
    fail(key, verifyLaneBlock(committee, block, cache));
    if (parent !== null && !linksToParent(block, parent)) {
      throw new RecoveryError(
        key,
        `parent ${toHex(block.header.parent).slice(0, 16)} does not match the previous header ${toHex(parent).slice(0, 16)}`,
      );
    }
    parent = headerHash(block.header);
  }
  return { lane, first: replay.first, next: replay.next, blocks: replay.entries.map((e) => e.value) };
}

/**
 * Every CommitQC (and the anchor's) names the header hash of the last block
 * of each lane range. Where the lane WAL holds a different block at that
 * number, the WAL is not damaged: both blocks carry the lane owner's valid
 * signature (checked above), so the owner signed two blocks at one number
 * and this node kept the branch it saw first. That is proof of equivocation
 * by the owner, a state an honest node can be in after a crash, and it must
 * be able to restart from it; the lanes machine treats the lane as it did
 * before the crash. Returns each diverged lane once, for the log.
 */
export function divergedFromFinalized(
  lanes: RecoveredLane[],
  anchor: Anchor | null,
  commitQcs: CommitQc[],
): { lane: number; number: number; index: number }[] {
  const qcs = anchor === null ? commitQcs : [anchor.commitQc, ...commitQcs];
  const found = new Map<number, { lane: number; number: number; index: number }>();
  for (const qc of qcs) {
    for (const r of qc.proposal.ranges) {
      const lane = lanes[r.lane];
      const n = r.next - 1;
      if (lane === undefined || n < lane.first || n >= lane.next || found.has(r.lane)) continue;
      if (!bytesEqual(headerHash(lane.blocks[n - lane.first]!.header), r.lastHash)) {
        found.set(r.lane, { lane: r.lane, number: n, index: qc.proposal.view.index });
      }
    }
  }
  return [...found.values()];
}

function checkSafety(
  committee: Committee,
  safety: SafetyRecord,
  cqc: WalReplay<CommitQc>,
  commitQcs: CommitQc[],
  carriedIndex: number,
  cache?: VerifyCache,
): void {
  const key = "meta/safety";
  if (safety.lock !== null) fail(key, verifyPrepareQc(committee, safety.lock, cache));
  // A node votes at index k only once CommitQC(k-1) is durable: a record at a
  // higher index means the CommitQC WAL lost entries; unless `validator
  // resync` carried the record over into rebuilt chain data (carriedIndex).
  const views: [string, View | undefined][] = [
    ["prepare vote", safety.prepare?.view],
    ["commit vote", safety.commit?.view],
    ["timeout vote", safety.timeout?.view],
    ["lock", safety.lock?.proposal.view],
  ];
  for (const [what, view] of views) {
    if (view !== undefined && view.index > Math.max(cqc.next, carriedIndex)) {
      throw new RecoveryError(
        `${key}, ${rangeName("cqc", cqc.next, view.index - 1)}`,
        `the ${what} at ${viewKey(view)} is ahead of the CommitQC WAL (next ${cqc.next}): CommitQCs were lost`,
      );
    }
  }
  // The lock is persisted before the commit vote: a commit vote above the
  // lock means the lock went missing.
  if (safety.commit !== null) {
    const lock = safety.lock;
    const order = lock === null ? -1 : compareViews(lock.proposal.view, safety.commit.view);
    if (order < 0) {
      throw new RecoveryError(
        key,
        `the lock (${lock ? viewKey(lock.proposal.view) : "none"}) is behind the commit vote at ${viewKey(safety.commit.view)}`,
      );
    }
    if (order === 0 && !bytesEqual(proposalHash(lock!.proposal), safety.commit.proposalHash)) {
      throw new RecoveryError(
        key,
        `the lock and the commit vote at ${viewKey(safety.commit.view)} name different proposals`,
      );
    }
    // A commit vote in the view of a held CommitQC must be for its proposal.
    const qc = commitQcs.find((q) => compareViews(q.proposal.view, safety.commit!.view) === 0);
    if (qc !== undefined && !bytesEqual(proposalHash(qc.proposal), safety.commit.proposalHash)) {
      throw new RecoveryError(
        `${key}, cqc/${qc.proposal.view.index}`,
        `the commit vote at ${viewKey(safety.commit.view)} contradicts the CommitQC of that view`,
      );
    }
  }
  // A lock in the view of a held CommitQC must be on the same proposal.
  if (safety.lock !== null) {
    const lockView = safety.lock.proposal.view;
    const qc = commitQcs.find((q) => compareViews(q.proposal.view, lockView) === 0);
    if (qc !== undefined && !bytesEqual(proposalHash(qc.proposal), proposalHash(safety.lock.proposal))) {
      throw new RecoveryError(
        `${key}, cqc/${qc.proposal.view.index}`,
        `the lock at ${viewKey(lockView)} contradicts the CommitQC of that view`,
      );
    }
  }
}

/** BatchQCs and batches re-checked at start (the newest ones; older ones were checked when stored). */
const ATTESTATION_TAIL = 64;

/**
 * Batches and BatchQCs: both WALs gap-free; the newest batches link index
 * ranges and end at or below the executed index; the newest BatchQCs verify
 * against the attesters and name the commitment of the stored batch of their
 * number; the attestation record names a stored batch and its commitment.
 * Returns the executed indexes after the last stored batch, so the open
 * batch can be rebuilt.
 */
async function recoverAttestation(
  storage: Storage,
  committee: Committee,
  executedIndex: number,
  cache?: VerifyCache,
): Promise<RecoveredAttestation> {
  const store = storage.attestation;
  const batchReplay = await replayTail(store.batches);
  const qcReplay = await replayTail(store.batchQcs);
  const hashOf = (b: Batch) => batchCommitmentHash(committee.chainId, committee.genesisHash, b);
  const batches = new Map<number, Batch>();
  let prev: Batch | null = null;
  for (const { index, value: b } of batchReplay) {
    const key = `batch/${index}`;
    if (b.number !== index) throw new RecoveryError(key, `holds batch ${b.number}`);
    if (b.lastIndex < b.firstIndex) throw new RecoveryError(key, `empty index range ${b.firstIndex}..${b.lastIndex}`);
    if (prev !== null && b.firstIndex !== prev.lastIndex + 1) {
      throw new RecoveryError(key, `starts at index ${b.firstIndex}, the previous batch ended at ${prev.lastIndex}`);
    }
    if (index === 0 && b.firstIndex !== 1) throw new RecoveryError(key, `batch 0 starts at index ${b.firstIndex}`);
    const hashes = await store.blockHashes(index);
    const root =
      hashes?.length === b.lastIndex - b.firstIndex + 1
        ? merkleRoot(hashes.map((h, i) => leafHash(b.firstIndex + i, h)))
        : null;
    if (root === null || !bytesEqual(root, b.blocksRoot)) {
      throw new RecoveryError(
        `${key}, batchhash/${index}`,
        "the batch's block hashes are missing or do not match its Merkle root",
      );
    }
    batches.set(index, b);
    prev = b;
  }
  const lastBatch = prev;
  if (lastBatch !== null && lastBatch.lastIndex > executedIndex) {
    throw new RecoveryError(
      `batch/${lastBatch.number}`,
      `ends at index ${lastBatch.lastIndex}, beyond the executed index ${executedIndex}`,
    );
  }
  const batchesNext = store.batches.next;
  if (store.batchQcs.next > batchesNext) {
    throw new RecoveryError(
      rangeName("bqc", batchesNext, store.batchQcs.next - 1),
      `BatchQCs for batches not stored here (batch store next ${batchesNext})`,
    );
  }
  for (const { index, value: qc } of qcReplay) {
    const key = `bqc/${index}`;
    if (qc.body.number !== index) throw new RecoveryError(key, `holds BatchQC ${qc.body.number}`);
    fail(key, verifyBatchQc(committee, qc, cache));
    const b = batches.get(index) ?? (await store.batches.get(index));
    if (b === undefined) throw new RecoveryError(`${key}, batch/${index}`, "the batch of this BatchQC is missing");
    if (!bytesEqual(hashOf(b), qc.body.hash)) {
      throw new RecoveryError(
        `${key}, batch/${index}`,
        `the BatchQC names ${toHex(qc.body.hash)}, the stored batch's commitment is ${toHex(hashOf(b))}`,
      );
    }
  }
  const record = store.record;
  if (record !== null) {
    const b = batches.get(record.number) ?? (await store.batches.get(record.number));
    if (b === undefined) {
      throw new RecoveryError(
        `meta/attestation, batch/${record.number}`,
        `voted for batch ${record.number}, which is not stored`,
      );
    }
    if (!bytesEqual(hashOf(b), record.hash)) {
      throw new RecoveryError(
        `meta/attestation, batch/${record.number}`,
        `voted ${toHex(record.hash)} for batch ${record.number}, whose stored commitment is ${toHex(hashOf(b))}`,
      );
    }
  }
  const executedAfter: RecoveredExecuted[] = [];
  for (let i = (lastBatch?.lastIndex ?? 0) + 1; i <= executedIndex; i++) {
    const block = await storage.globalBlock(i);
    const appHash = await storage.appHashAt(i);
    if (block === undefined || appHash === undefined) {
      throw new RecoveryError(
        `chain/block/${i}, app/hash/${i}`,
        `executed index ${i} has no stored block or app hash to rebuild the open batch`,
      );
    }
    const proposal = block.commitQc.proposal;
    executedAfter.push({ index: i, blockHash: blockHash(proposal), createdAtMs: proposal.createdAtMs, appHash });
  }
  return { record, lastBatch, executedAfter, batchQcNext: store.batchQcs.next };
}

/** A WAL's damage check, then its newest ATTESTATION_TAIL entries. */
async function replayTail<T>(wal: IndexedWal<T>): Promise<{ index: number; value: T }[]> {
  checkWalDamage(wal);
  const from = Math.max(wal.first, wal.next - ATTESTATION_TAIL);
  try {
    const values = await wal.range(from, wal.next, ATTESTATION_TAIL);
    return values.map((value, i) => ({ index: from + i, value }));
  } catch (err) {
    throw new RecoveryError(wal.name, (err as Error).message);
  }
}
