import { sha256 } from "./bytes.ts";
import { Codec, DecodeError } from "./codec.ts";
import {
  MAX_CONSENSUS_MESSAGE_BYTES,
  MAX_GLOBAL_BLOCK_BYTES,
  MAX_GLOBAL_BLOCK_LANE_BLOCKS,
  MAX_LANE_BLOCK_BYTES,
  MAX_TX_BYTES,
  MAX_TXS_PER_BLOCK,
} from "./limits.ts";
import { checkOffsets, checkPayload } from "./payload.ts";
import {
  AnchorType,
  AppQcType,
  type AppVoteBody,
  AppVoteBodyType,
  AppVoteType,
  AttestationRecordType,
  type Batch,
  BatchCommitmentType,
  BatchProofType,
  BatchQcType,
  BatchType,
  type BatchVoteBody,
  BatchVoteBodyType,
  BatchVoteMessageType,
  BatchVoteType,
  ConsensusMessageType,
  type GlobalBlock,
  GlobalBlockType,
  HaAnnouncementBodyType,
  HaAnnouncementType,
  type LaneBlock,
  type LaneBlockHeader,
  LaneBlockHeaderType,
  LaneBlockType,
  LaneQcType,
  type LaneVoteBody,
  LaneVoteBodyType,
  LaneVoteType,
  type PhaseVote,
  type PhaseVoteBody,
  PhaseVoteBodyType,
  PhaseVoteType,
  type Proposal,
  type ProposalMessage,
  ProposalMessageType,
  type ProposalQc,
  ProposalQcType,
  ProposalType,
  SafetyRecordType,
  type TimeoutQc,
  TimeoutQcType,
  type TimeoutVote,
  type TimeoutVoteBody,
  TimeoutVoteBodyType,
  TimeoutVoteType,
  TxListType,
  TxType,
  type View,
  ViewType,
} from "./schema.ts";

const MIB = 1024 * 1024;
const LIST_OVERHEAD = 4 * MAX_TXS_PER_BLOCK;

const headerCodec = new Codec("LaneBlockHeader", LaneBlockHeaderType, 256);
const proposalQcCodec = new Codec("ProposalQC", ProposalQcType, MIB);
const HEADER_BYTES = LaneBlockHeaderType.fixedSize!;
const SIGNATURE_BYTES = 64;
/** Header, signature, and the offset of the payload. */
const LANE_BLOCK_FIXED_BYTES = HEADER_BYTES + SIGNATURE_BYTES + 4;
/** Index, and the offsets of the CommitQC and of the lane block list. */
const GLOBAL_BLOCK_FIXED_BYTES = 8 + 4 + 4;

function u32le(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true);
}

/**
 * A codec whose decoder walks the SSZ layout itself instead of a generic
 * decode and canonical re-encode. The checks every such decoder makes first
 * (bytes, size bounds) and the naming of its errors live here, once.
 */
abstract class WalkingCodec<T> extends Codec<T> {
  /** The fixed part of the encoding: anything shorter is refused before walking. */
  protected abstract readonly fixedBytes: number;
  protected abstract walk(bytes: Uint8Array): T;

  override decode(bytes: Uint8Array): T {
    try {
      if (!(bytes instanceof Uint8Array)) throw new DecodeError(this.name, "input is not bytes");
      if (bytes.byteLength > this.maxBytes) {
        throw new DecodeError(this.name, `${bytes.byteLength} bytes exceeds the limit of ${this.maxBytes}`);
      }
      if (bytes.byteLength < this.fixedBytes) {
        throw new DecodeError(this.name, `${bytes.byteLength} bytes: shorter than the fixed part`);
      }
      return this.walk(bytes);
    } catch (err) {
      throw err instanceof DecodeError && err.codec === this.name
        ? err
        : new DecodeError(this.name, (err as Error).message);
    }
  }
}

/**
 * The lane block codec: SSZ encoding, and a decoder that reads the fixed
 * part (header through the header codec, signature) and takes the payload
 * as bytes after walking its offsets, without building a tx object or
 * encoding anything again (what a generic decode-then-re-encode costs on
 * every received block). It accepts exactly what SSZ encoding produces:
 * the payload offset where the fixed part ends, a canonical header, a
 * canonical tx list.
 */
class LaneBlockCodec extends WalkingCodec<LaneBlock> {
  protected readonly fixedBytes = LANE_BLOCK_FIXED_BYTES;

  protected walk(bytes: Uint8Array): LaneBlock {
    const offset = u32le(bytes, HEADER_BYTES + SIGNATURE_BYTES);
    if (offset !== LANE_BLOCK_FIXED_BYTES) throw new DecodeError(this.name, `payload offset ${offset}: non-canonical`);
    let header: LaneBlockHeader;
    try {
      header = headerCodec.decode(bytes.subarray(0, HEADER_BYTES));
    } catch (err) {
      throw new DecodeError(this.name, (err as Error).message);
    }
    // One copy of the block's bytes (never a view into a network or
    // database buffer that someone else may reuse or keep alive).
    const payload = bytes.slice(LANE_BLOCK_FIXED_BYTES);
    const count = checkPayload(payload);
    if (typeof count === "string") throw new DecodeError(this.name, `payload: ${count}`);
    return { header, signature: bytes.slice(HEADER_BYTES, HEADER_BYTES + SIGNATURE_BYTES), payload };
  }
}

/**
 * The global block codec: SSZ encoding; the decoder walks the lane block
 * list's offsets and decodes each with the lane block codec (payloads stay
 * bytes), the CommitQC with its own codec.
 */
class GlobalBlockCodec extends WalkingCodec<GlobalBlock> {
  readonly #laneBlock: LaneBlockCodec;

  constructor(laneBlock: LaneBlockCodec) {
    super("GlobalBlock", GlobalBlockType, MAX_GLOBAL_BLOCK_BYTES);
    this.#laneBlock = laneBlock;
  }

  protected readonly fixedBytes = GLOBAL_BLOCK_FIXED_BYTES;

  protected walk(bytes: Uint8Array): GlobalBlock {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const lo = view.getUint32(0, true);
    const hi = view.getUint32(4, true);
    if (hi >= 2 ** 21) throw new DecodeError(this.name, "u64 index exceeds 2^53 - 1");
    const index = hi * 2 ** 32 + lo;
    const qcAt = view.getUint32(8, true);
    const blocksAt = view.getUint32(12, true);
    if (qcAt !== GLOBAL_BLOCK_FIXED_BYTES || blocksAt < qcAt || blocksAt > bytes.byteLength) {
      throw new DecodeError(this.name, `offsets ${qcAt}, ${blocksAt}: non-canonical`);
    }
    const commitQc = proposalQcCodec.decode(bytes.subarray(qcAt, blocksAt));
    const list = bytes.subarray(blocksAt);
    const count = checkOffsets(list, MAX_GLOBAL_BLOCK_LANE_BLOCKS, MAX_LANE_BLOCK_BYTES);
    if (typeof count === "string") throw new DecodeError(this.name, `lane blocks: ${count}`);
    const blocks: LaneBlock[] = [];
    for (let i = 0; i < count; i++) {
      const start = u32le(list, i * 4);
      const end = i + 1 === count ? list.byteLength : u32le(list, (i + 1) * 4);
      blocks.push(this.#laneBlock.decode(list.subarray(start, end)));
    }
    return { index, commitQc, blocks };
  }
}

const laneBlockCodec = new LaneBlockCodec("LaneBlock", LaneBlockType, MAX_LANE_BLOCK_BYTES);

export const codecs = {
  view: new Codec("View", ViewType, 64),
  tx: new Codec("Tx", TxType, MAX_TX_BYTES),
  txList: new Codec("TxList", TxListType, MAX_LANE_BLOCK_BYTES + LIST_OVERHEAD),
  laneBlockHeader: headerCodec,
  laneBlock: laneBlockCodec as Codec<LaneBlock>,
  laneVoteBody: new Codec("LaneVoteBody", LaneVoteBodyType, 256),
  laneVote: new Codec("LaneVote", LaneVoteType, 512),
  laneQc: new Codec("LaneQC", LaneQcType, 64 * 1024),
  proposal: new Codec("Proposal", ProposalType, MIB),
  phaseVoteBody: new Codec("PhaseVoteBody", PhaseVoteBodyType, 256),
  phaseVote: new Codec("PhaseVote", PhaseVoteType, 512),
  proposalQc: proposalQcCodec,
  timeoutVoteBody: new Codec("TimeoutVoteBody", TimeoutVoteBodyType, 256),
  timeoutVote: new Codec("TimeoutVote", TimeoutVoteType, MIB),
  timeoutQc: new Codec("TimeoutQC", TimeoutQcType, 2 * MIB),
  proposalMessage: new Codec("ProposalMessage", ProposalMessageType, MAX_CONSENSUS_MESSAGE_BYTES),
  appVoteBody: new Codec("AppVoteBody", AppVoteBodyType, 256),
  appVote: new Codec("AppVote", AppVoteType, 512),
  appQc: new Codec("AppQC", AppQcType, 64 * 1024),
  globalBlock: new GlobalBlockCodec(laneBlockCodec) as Codec<GlobalBlock>,
  anchor: new Codec("Anchor", AnchorType, 2 * MIB),
  safetyRecord: new Codec("SafetyRecord", SafetyRecordType, 2 * MIB),
  batchVoteBody: new Codec("BatchVoteBody", BatchVoteBodyType, 256),
  batchVote: new Codec("BatchVote", BatchVoteType, 512),
  batchVoteMessage: new Codec("BatchVoteMessage", BatchVoteMessageType, 512),
  batchQc: new Codec("BatchQC", BatchQcType, 64 * 1024),
  batch: new Codec("Batch", BatchType, 512),
  attestationRecord: new Codec("AttestationRecord", AttestationRecordType, 256),
  batchProof: new Codec("BatchProof", BatchProofType, 1024),
  haAnnouncementBody: new Codec("HaAnnouncementBody", HaAnnouncementBodyType, 256),
  haAnnouncement: new Codec("HaAnnouncement", HaAnnouncementType, 512),
} as const;

// ---- the consensus topic: a tagged union ----

export type ConsensusMessage =
  | { kind: "proposal"; msg: ProposalMessage }
  | { kind: "prepare"; msg: PhaseVote }
  | { kind: "commit"; msg: PhaseVote }
  | { kind: "timeout"; msg: TimeoutVote }
  | { kind: "commitQc"; msg: ProposalQc }
  | { kind: "timeoutQc"; msg: TimeoutQc };

const KINDS = ["proposal", "prepare", "commit", "timeout", "commitQc", "timeoutQc"] as const;
const unionCodec = new Codec("ConsensusMessage", ConsensusMessageType, MAX_CONSENSUS_MESSAGE_BYTES);

export const consensusMessageCodec = {
  name: unionCodec.name,
  maxBytes: unionCodec.maxBytes,
  encode(m: ConsensusMessage): Uint8Array {
    const selector = KINDS.indexOf(m.kind);
    return unionCodec.encode({ selector, value: m.msg } as never);
  },
  decode(bytes: Uint8Array): ConsensusMessage {
    const { selector, value } = unionCodec.decode(bytes) as { selector: number; value: unknown };
    // The union type has already rejected unknown selectors.
    return { kind: KINDS[selector], msg: value } as ConsensusMessage;
  },
};

// ---- hashes ----

/** What a lane block header commits to: sha256 of the payload bytes as signed (never re-encoded). */
export function payloadHash(payload: Uint8Array): Uint8Array {
  return sha256(payload);
}

export function headerHash(header: LaneBlockHeader): Uint8Array {
  return sha256(codecs.laneBlockHeader.encode(header));
}

/** The hash a prepare or commit vote names; also the global block's hash. */
export function proposalHash(proposal: Proposal): Uint8Array {
  return sha256(codecs.proposal.encode(proposal));
}

/**
 * The hash of finalized global block `proposal.view.index`, the same on every
 * node: the proposal's hash with its round set to 0. Why not the proposal
 * hash itself: a cut locked in round r is re-proposed unchanged (ranges and
 * createdAtMs) in round r+1, and both rounds can gather a CommitQC, so two
 * honest nodes may finalize index k under CommitQCs of different rounds.
 * Their content is identical; only the round differs. Everything compared
 * across nodes (the API's block hash, batch commitments and their Merkle
 * leaves) uses this hash; the CommitQC keeps its own round's proposal hash.
 */
export function blockHash(proposal: Proposal): Uint8Array {
  if (proposal.view.round === 0) return proposalHash(proposal);
  return proposalHash({ ...proposal, view: { index: proposal.view.index, round: 0 } });
}

// ---- signed bodies: what each signature covers (domain aside) ----

export function laneBlockSigningBody(block: LaneBlock): Uint8Array {
  return codecs.laneBlockHeader.encode(block.header);
}

export function laneVoteSigningBody(body: LaneVoteBody): Uint8Array {
  return codecs.laneVoteBody.encode(body);
}

export function phaseVoteSigningBody(body: PhaseVoteBody): Uint8Array {
  return codecs.phaseVoteBody.encode(body);
}

export function timeoutVoteSigningBody(body: TimeoutVoteBody): Uint8Array {
  return codecs.timeoutVoteBody.encode(body);
}

export function appVoteSigningBody(body: AppVoteBody): Uint8Array {
  return codecs.appVoteBody.encode(body);
}

export function batchVoteSigningBody(body: BatchVoteBody): Uint8Array {
  return codecs.batchVoteBody.encode(body);
}

/**
 * The hash a batch vote signs: sha256 of the SSZ encoding of {chain id,
 * genesis hash, n, first and last index, hash of the last global block, app
 * hash after the last index, Merkle root over the batch's block hashes}.
 */
export function batchCommitmentHash(chainId: string, genesisHash: Uint8Array, batch: Batch): Uint8Array {
  // Hashed, never decoded: no Codec (its trailing chain id would take any extension).
  return sha256(
    BatchCommitmentType.serialize({
      chainId: new TextEncoder().encode(chainId),
      genesisHash,
      number: batch.number,
      firstIndex: batch.firstIndex,
      lastIndex: batch.lastIndex,
      lastBlockHash: batch.lastBlockHash,
      appHash: batch.appHash,
      blocksRoot: batch.blocksRoot,
    }),
  );
}

/** The vote body a PrepareQC or CommitQC's signatures cover. */
export function proposalQcVoteBody(qc: ProposalQc): PhaseVoteBody {
  return { view: qc.proposal.view, proposalHash: proposalHash(qc.proposal) };
}

// ---- view ordering ----

export function compareViews(a: View, b: View): number {
  if (a.index !== b.index) return a.index < b.index ? -1 : 1;
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  return 0;
}

export function viewKey(v: View): string {
  return `${v.index}/${v.round}`;
}
