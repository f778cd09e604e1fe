/**
 * The wire schema: every protocol message as an SSZ type. SSZ is canonical by
 * construction (fixed-width little-endian integers, offsets for variable
 * parts, explicit list limits), needs no code generation and is erasable
 * TypeScript. `codec.ts` adds the checks SSZ leaves to the caller.
 */
import {
  BitListType,
  ByteListType,
  ByteVectorType,
  type ByteViews,
  ContainerType,
  ListCompositeType,
  OptionalType,
  UintNumberType,
  UnionType,
  type ValueOf,
} from "@chainsafe/ssz";
import {
  MAX_BATCH_PROOF_HASHES,
  MAX_GLOBAL_BLOCK_LANE_BLOCKS,
  MAX_LANE_BLOCK_BYTES,
  MAX_TX_BYTES,
  MAX_TXS_PER_BLOCK,
  MAX_VALIDATORS,
} from "./limits.ts";

const U16 = new UintNumberType(2);
const U32 = new UintNumberType(4);
/**
 * u64 held in a JS number. SSZ's number type silently accepts values above
 * 2^53 - 1 that happen to be exactly representable (2^60 round-trips), so a
 * peer could send a view index no node can increment correctly. Reject them
 * on both sides so that decode accepts exactly what encode produces.
 */
class SafeUint64Type extends UintNumberType {
  constructor() {
    super(8);
  }

  override value_serializeToBytes(output: ByteViews, offset: number, value: number): number {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`u64 ${value} is not an integer in [0, 2^53 - 1]`);
    return super.value_serializeToBytes(output, offset, value);
  }

  override value_deserializeFromBytes(data: ByteViews, start: number, end: number): number {
    const value = super.value_deserializeFromBytes(data, start, end);
    if (value > Number.MAX_SAFE_INTEGER) throw new Error(`u64 ${value} exceeds 2^53 - 1`);
    return value;
  }
}

const U64 = new SafeUint64Type();
const Hash = new ByteVectorType(32);
const Signature = new ByteVectorType(64);
const Signers = new BitListType(MAX_VALIDATORS);
const Signatures = new ListCompositeType(Signature, MAX_VALIDATORS);

export const ViewType = new ContainerType({ index: U64, round: U32 });

// ---- lanes (DESIGN section 5) ----

export const TxType = new ByteListType(MAX_TX_BYTES);
/** A tx list's canonical encoding: what a lane block's payload holds (node/types/payload.ts). */
export const TxListType = new ListCompositeType(TxType, MAX_TXS_PER_BLOCK);

export const LaneBlockHeaderType = new ContainerType({
  lane: U16,
  number: U64,
  /** Hash of the previous header; zero for block 0. */
  parent: Hash,
  /** sha256 of the payload (the encoded transaction list). */
  payloadHash: Hash,
  txCount: U32,
  createdAtMs: U64,
});

/**
 * A lane block: header signed by the lane owner, plus its transactions as
 * the payload bytes (the encoded TxListType, kept as bytes: on the wire this
 * is byte for byte a container with a TxListType field). Its well-formedness
 * is checked by walking the offsets (codecs.laneBlock, payload.ts).
 */
export const LaneBlockType = new ContainerType({
  header: LaneBlockHeaderType,
  signature: Signature,
  payload: new ByteListType(MAX_LANE_BLOCK_BYTES),
});

export const LaneVoteBodyType = new ContainerType({ lane: U16, number: U64, headerHash: Hash });

export const LaneVoteType = new ContainerType({
  body: LaneVoteBodyType,
  signer: U16,
  signature: Signature,
});

/** Lane votes of weight >= A on one header: the block is available. */
export const LaneQcType = new ContainerType({
  body: LaneVoteBodyType,
  signers: Signers,
  signatures: Signatures,
});

// ---- consensus (DESIGN section 6) ----

/** The blocks of one lane that a proposal finalizes: numbers first..next-1. */
export const LaneRangeType = new ContainerType({
  lane: U16,
  first: U64,
  next: U64,
  /** Header hash of block next-1; zero when next is 0. */
  lastHash: Hash,
});

/** A tip cut: one range per committee lane, in committee order. */
export const ProposalType = new ContainerType({
  view: ViewType,
  createdAtMs: U64,
  ranges: new ListCompositeType(LaneRangeType, MAX_VALIDATORS),
});

/** What a prepare or a commit vote signs (under different domains). */
export const PhaseVoteBodyType = new ContainerType({ view: ViewType, proposalHash: Hash });

export const PhaseVoteType = new ContainerType({
  body: PhaseVoteBodyType,
  signer: U16,
  signature: Signature,
});

/**
 * PrepareQC and CommitQC carry the whole proposal, so that a lock can be
 * re-proposed and a finalized tip cut can be read from its certificate alone.
 * The signed body is {view, sha256(encode(proposal))}.
 */
export const ProposalQcType = new ContainerType({
  proposal: ProposalType,
  signers: Signers,
  signatures: Signatures,
});

/**
 * A timeout vote signs the round of the highest PrepareQC of its index that
 * the voter holds (its lock), so a TimeoutQC can prove which lock is highest.
 */
export const TimeoutVoteBodyType = new ContainerType({
  view: ViewType,
  lockRound: new OptionalType(U32),
});

export const TimeoutVoteType = new ContainerType({
  body: TimeoutVoteBodyType,
  signer: U16,
  signature: Signature,
  /** The voter's lock: a PrepareQC of view (body.view.index, body.lockRound). */
  lock: new OptionalType(ProposalQcType),
});

export const TimeoutQcType = new ContainerType({
  view: ViewType,
  signers: Signers,
  /** Each signer's lockRound, in signer order. */
  lockRounds: new ListCompositeType(new OptionalType(U32), MAX_VALIDATORS),
  signatures: Signatures,
  /** The PrepareQC whose round is the highest of lockRounds, if any. */
  highQc: new OptionalType(ProposalQcType),
});

/** A leader's proposal with what a voter needs to check it. */
export const ProposalMessageType = new ContainerType({
  proposal: ProposalType,
  /** Leader's signature over the proposal (domain "proposal"). */
  signature: Signature,
  /** LaneQCs for block next-1 of every non-empty range, in lane order. */
  laneQcs: new ListCompositeType(LaneQcType, MAX_VALIDATORS),
  /** TimeoutQC(k, r-1), present exactly when round > 0. */
  timeoutQc: new OptionalType(TimeoutQcType),
  /** CommitQC(k-1), present when index > 1, so laggards can follow. */
  prevCommitQc: new OptionalType(ProposalQcType),
});

/** Everything on the `consensus` topic. Selector order is part of the wire. */
export const ConsensusMessageType = new UnionType([
  ProposalMessageType, // 0 proposal
  PhaseVoteType, // 1 prepare vote
  PhaseVoteType, // 2 commit vote
  TimeoutVoteType, // 3 timeout vote
  ProposalQcType, // 4 CommitQC announcement
  TimeoutQcType, // 5 TimeoutQC announcement
]);

// ---- execution (DESIGN section 7) ----

export const AppVoteBodyType = new ContainerType({ index: U64, appHash: Hash });

export const AppVoteType = new ContainerType({
  body: AppVoteBodyType,
  signer: U16,
  signature: Signature,
});

export const AppQcType = new ContainerType({
  body: AppVoteBodyType,
  signers: Signers,
  signatures: Signatures,
});

/** Finalized global block k: the CommitQC and its lane blocks in order. */
export const GlobalBlockType = new ContainerType({
  index: U64,
  commitQc: ProposalQcType,
  blocks: new ListCompositeType(LaneBlockType, MAX_GLOBAL_BLOCK_LANE_BLOCKS),
});

/** Pruning anchor: CommitQC(k) and AppQC(k), written as one record. */
export const AnchorType = new ContainerType({
  commitQc: ProposalQcType,
  appQc: AppQcType,
});

// ---- high availability (DESIGN section 14) ----

/**
 * "The instance with node key `nodePublicKey` signs for validator `validator` since fencing epoch
 * `epoch`", signed by the validator key. Peers push lane blocks to the
 * announced instance with the highest epoch.
 */
export const HaAnnouncementBodyType = new ContainerType({
  validator: U16,
  /** The instance's node (libp2p) public key; its peer id follows from it. */
  nodePublicKey: Hash,
  epoch: U64,
  atMs: U64,
});

export const HaAnnouncementType = new ContainerType({
  body: HaAnnouncementBodyType,
  signature: Signature,
});

/** Consensus safety record (`meta/safety`), written before any vote leaves. */
export const SafetyRecordType = new ContainerType({
  /** Last view this node sent a prepare vote in, and for which proposal. */
  prepare: new OptionalType(PhaseVoteBodyType),
  /** Last view this node sent a commit vote in, and for which proposal. */
  commit: new OptionalType(PhaseVoteBodyType),
  /** Last view this node sent a timeout vote in, and what it said. */
  timeout: new OptionalType(TimeoutVoteBodyType),
  /** Highest PrepareQC this node holds. Never replaced by a lower one. */
  lock: new OptionalType(ProposalQcType),
});

// ---- batch attestation (DESIGN section 13) ----

/** What an attester signs (domain "batch_vote"): batch `number` has commitment `hash`. */
export const BatchVoteBodyType = new ContainerType({ number: U64, hash: Hash });

export const BatchVoteType = new ContainerType({
  body: BatchVoteBodyType,
  signer: U16,
  signature: Signature,
});

/**
 * The `batch_vote` gossip message: a vote plus a re-push counter outside the
 * signed body. gossipsub drops a message whose bytes (content-hash id) it
 * has seen; each re-push of the same signed vote carries the next attempt,
 * so it is a new message to the network and still the identical signature.
 */
export const BatchVoteMessageType = new ContainerType({ vote: BatchVoteType, attempt: U32 });

/** Attester votes of attester weight >= Qa on one {number, hash}. */
export const BatchQcType = new ContainerType({
  body: BatchVoteBodyType,
  signers: Signers,
  signatures: Signatures,
});

/**
 * Batch `number` of the finalized chain: global blocks firstIndex..lastIndex
 * (boundaries follow from the chain alone: genesis batchMaxIndexes and
 * batchMaxMs). Stored as `batch/<n>` when it closes.
 */
export const BatchType = new ContainerType({
  number: U64,
  firstIndex: U64,
  lastIndex: U64,
  /** Agreed proposal time of firstIndex (the age limit counts from it). */
  firstCreatedAtMs: U64,
  /** Hash of global block lastIndex (the hash its CommitQC names). */
  lastBlockHash: Hash,
  /** App hash after executing lastIndex. */
  appHash: Hash,
  /** Merkle root over the hashes of global blocks firstIndex..lastIndex. */
  blocksRoot: Hash,
});

const ChainIdBytes = new ByteListType(64);

/** What a batch vote's hash commits to: sha256(encode(this)). */
export const BatchCommitmentType = new ContainerType({
  chainId: ChainIdBytes,
  genesisHash: Hash,
  number: U64,
  firstIndex: U64,
  lastIndex: U64,
  lastBlockHash: Hash,
  appHash: Hash,
  blocksRoot: Hash,
});

/**
 * The attestation record (`meta/attestation`), durable before a batch vote
 * leaves: the last batch this attester voted for and the hash it signed.
 * Never a second hash for one number, never a lower number.
 */
export const AttestationRecordType = new ContainerType({ number: U64, hash: Hash });

/** An inclusion proof: global block `index` is leaf `index - firstIndex` of batch `number`. */
export const BatchProofType = new ContainerType({
  number: U64,
  index: U64,
  blockHash: Hash,
  siblings: new ListCompositeType(Hash, MAX_BATCH_PROOF_HASHES),
});

export type View = ValueOf<typeof ViewType>;
export type Tx = ValueOf<typeof TxType>;
export type LaneBlockHeader = ValueOf<typeof LaneBlockHeaderType>;
export type LaneBlock = ValueOf<typeof LaneBlockType>;
export type LaneVoteBody = ValueOf<typeof LaneVoteBodyType>;
export type LaneVote = ValueOf<typeof LaneVoteType>;
export type LaneQc = ValueOf<typeof LaneQcType>;
export type LaneRange = ValueOf<typeof LaneRangeType>;
export type Proposal = ValueOf<typeof ProposalType>;
export type PhaseVoteBody = ValueOf<typeof PhaseVoteBodyType>;
export type PhaseVote = ValueOf<typeof PhaseVoteType>;
export type ProposalQc = ValueOf<typeof ProposalQcType>;
/** Weight >= Q of prepare votes on one proposal. */
export type PrepareQc = ProposalQc;
/** Weight >= Q of commit votes on one proposal: its index is final. */
export type CommitQc = ProposalQc;
export type TimeoutVoteBody = ValueOf<typeof TimeoutVoteBodyType>;
export type TimeoutVote = ValueOf<typeof TimeoutVoteType>;
export type TimeoutQc = ValueOf<typeof TimeoutQcType>;
export type ProposalMessage = ValueOf<typeof ProposalMessageType>;
export type AppVoteBody = ValueOf<typeof AppVoteBodyType>;
export type AppVote = ValueOf<typeof AppVoteType>;
export type AppQc = ValueOf<typeof AppQcType>;
export type GlobalBlock = ValueOf<typeof GlobalBlockType>;
export type Anchor = ValueOf<typeof AnchorType>;
export type SafetyRecord = ValueOf<typeof SafetyRecordType>;
export type BatchVoteBody = ValueOf<typeof BatchVoteBodyType>;
export type BatchVote = ValueOf<typeof BatchVoteType>;
export type BatchVoteMessage = ValueOf<typeof BatchVoteMessageType>;
export type BatchQc = ValueOf<typeof BatchQcType>;
export type Batch = ValueOf<typeof BatchType>;
export type BatchCommitment = ValueOf<typeof BatchCommitmentType>;
export type AttestationRecord = ValueOf<typeof AttestationRecordType>;
export type BatchProof = ValueOf<typeof BatchProofType>;
export type HaAnnouncementBody = ValueOf<typeof HaAnnouncementBodyType>;
export type HaAnnouncement = ValueOf<typeof HaAnnouncementType>;
