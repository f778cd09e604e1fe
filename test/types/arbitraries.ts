/**
 * fast-check arbitraries for every wire type in node/types. They generate
 * values the codecs accept (integers in range, fixed-size byte strings of the
 * right length, lists within their limits) but keep sizes small so property
 * tests run in seconds. Other test folders may import them.
 */

import { BitArray } from "@chainsafe/ssz";
import fc from "fast-check";
import type {
  Anchor,
  AppQc,
  AppVote,
  AppVoteBody,
  AttestationRecord,
  Batch,
  BatchProof,
  BatchQc,
  BatchVote,
  BatchVoteBody,
  BatchVoteMessage,
  Codec,
  ConsensusMessage,
  codecs,
  GlobalBlock,
  HaAnnouncement,
  HaAnnouncementBody,
  LaneBlock,
  LaneBlockHeader,
  LaneQc,
  LaneRange,
  LaneVote,
  LaneVoteBody,
  PhaseVote,
  PhaseVoteBody,
  Proposal,
  ProposalMessage,
  ProposalQc,
  SafetyRecord,
  TimeoutQc,
  TimeoutVote,
  TimeoutVoteBody,
  Tx,
  View,
} from "../../node/types/index.ts";
import { encodePayload } from "../../node/types/index.ts";

/** Committee size used for signer bitmaps: small, but not byte-aligned. */
const MAX_TEST_COMMITTEE = 10;

export const u16 = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffff });
export const u32 = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffff_ffff });
/** u64 as the codecs accept it: 0..2^53-1, with the edges weighted in. */
export const u64 = (): fc.Arbitrary<number> =>
  fc.oneof(fc.constantFrom(0, 1, 0xffff_ffff, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());

export const bytes = (length: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: length, maxLength: length });
export const hash = (): fc.Arbitrary<Uint8Array> => bytes(32);
export const signature = (): fc.Arbitrary<Uint8Array> => bytes(64);
/** Plain objects, as the decoders build them (fast-check may otherwise pick a null prototype). */
const record = <T extends Record<string, unknown>>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> =>
  fc.record(model, { noNullPrototype: true }) as unknown as fc.Arbitrary<T>;
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null });

export const view = (): fc.Arbitrary<View> => record({ index: u64(), round: u32() });

export const tx = (): fc.Arbitrary<Tx> => fc.uint8Array({ maxLength: 48 });
export const txList = (): fc.Arbitrary<Tx[]> => fc.array(tx(), { maxLength: 4 });

export const laneBlockHeader = (): fc.Arbitrary<LaneBlockHeader> =>
  record({
    lane: u16(),
    number: u64(),
    parent: hash(),
    payloadHash: hash(),
    txCount: u32(),
    createdAtMs: u64(),
  });

export const laneBlock = (): fc.Arbitrary<LaneBlock> =>
  record({ header: laneBlockHeader(), signature: signature(), payload: txList().map(encodePayload) });

export const laneVoteBody = (): fc.Arbitrary<LaneVoteBody> =>
  record({ lane: u16(), number: u64(), headerHash: hash() });

export const laneVote = (): fc.Arbitrary<LaneVote> =>
  record({ body: laneVoteBody(), signer: u16(), signature: signature() });

/** A signer bitmap over a committee of 1..10 and one signature per set bit. */
export const signerSet = (): fc.Arbitrary<{ signers: BitArray; signatures: Uint8Array[] }> =>
  fc
    .array(fc.boolean(), { minLength: 1, maxLength: MAX_TEST_COMMITTEE })
    .chain((bits) =>
      fc
        .array(signature(), { minLength: bits.filter(Boolean).length, maxLength: bits.filter(Boolean).length })
        .map((signatures) => ({ signers: BitArray.fromBoolArray(bits), signatures })),
    );

export const laneQc = (): fc.Arbitrary<LaneQc> =>
  fc.tuple(laneVoteBody(), signerSet()).map(([body, set]) => ({ body, ...set }));

export const laneRange = (): fc.Arbitrary<LaneRange> =>
  record({ lane: u16(), first: u64(), next: u64(), lastHash: hash() });

export const proposal = (): fc.Arbitrary<Proposal> =>
  record({ view: view(), createdAtMs: u64(), ranges: fc.array(laneRange(), { maxLength: 4 }) });

export const phaseVoteBody = (): fc.Arbitrary<PhaseVoteBody> => record({ view: view(), proposalHash: hash() });

export const phaseVote = (): fc.Arbitrary<PhaseVote> =>
  record({ body: phaseVoteBody(), signer: u16(), signature: signature() });

export const proposalQc = (): fc.Arbitrary<ProposalQc> =>
  fc.tuple(proposal(), signerSet()).map(([p, set]) => ({ proposal: p, ...set }));

export const timeoutVoteBody = (): fc.Arbitrary<TimeoutVoteBody> =>
  record({ view: view(), lockRound: optional(u32()) });

export const timeoutVote = (): fc.Arbitrary<TimeoutVote> =>
  record({ body: timeoutVoteBody(), signer: u16(), signature: signature(), lock: optional(proposalQc()) });

export const timeoutQc = (): fc.Arbitrary<TimeoutQc> =>
  fc
    .tuple(view(), signerSet(), optional(proposalQc()))
    .chain(([v, set, highQc]) =>
      fc
        .array(optional(u32()), { minLength: set.signatures.length, maxLength: set.signatures.length })
        .map((lockRounds) => ({ view: v, signers: set.signers, lockRounds, signatures: set.signatures, highQc })),
    );

export const proposalMessage = (): fc.Arbitrary<ProposalMessage> =>
  record({
    proposal: proposal(),
    signature: signature(),
    laneQcs: fc.array(laneQc(), { maxLength: 2 }),
    timeoutQc: optional(timeoutQc()),
    prevCommitQc: optional(proposalQc()),
  });

export const appVoteBody = (): fc.Arbitrary<AppVoteBody> => record({ index: u64(), appHash: hash() });

export const appVote = (): fc.Arbitrary<AppVote> =>
  record({ body: appVoteBody(), signer: u16(), signature: signature() });

export const appQc = (): fc.Arbitrary<AppQc> =>
  fc.tuple(appVoteBody(), signerSet()).map(([body, set]) => ({ body, ...set }));

export const globalBlock = (): fc.Arbitrary<GlobalBlock> =>
  record({ index: u64(), commitQc: proposalQc(), blocks: fc.array(laneBlock(), { maxLength: 2 }) });

export const anchor = (): fc.Arbitrary<Anchor> => record({ commitQc: proposalQc(), appQc: appQc() });

export const safetyRecord = (): fc.Arbitrary<SafetyRecord> =>
  record({
    prepare: optional(phaseVoteBody()),
    commit: optional(phaseVoteBody()),
    timeout: optional(timeoutVoteBody()),
    lock: optional(proposalQc()),
  });

export const batchVoteBody = (): fc.Arbitrary<BatchVoteBody> => record({ number: u64(), hash: hash() });

export const batchVote = (): fc.Arbitrary<BatchVote> =>
  record({ body: batchVoteBody(), signer: u16(), signature: signature() });

export const batchVoteMessage = (): fc.Arbitrary<BatchVoteMessage> => record({ vote: batchVote(), attempt: u32() });

export const batchQc = (): fc.Arbitrary<BatchQc> =>
  fc.tuple(batchVoteBody(), signerSet()).map(([body, set]) => ({ body, ...set }));

export const batch = (): fc.Arbitrary<Batch> =>
  record({
    number: u64(),
    firstIndex: u64(),
    lastIndex: u64(),
    firstCreatedAtMs: u64(),
    lastBlockHash: hash(),
    appHash: hash(),
    blocksRoot: hash(),
  });

export const attestationRecord = (): fc.Arbitrary<AttestationRecord> => record({ number: u64(), hash: hash() });

export const batchProof = (): fc.Arbitrary<BatchProof> =>
  record({ number: u64(), index: u64(), blockHash: hash(), siblings: fc.array(hash(), { maxLength: 12 }) });

export const consensusMessage = (): fc.Arbitrary<ConsensusMessage> =>
  fc.oneof(
    proposalMessage().map((msg): ConsensusMessage => ({ kind: "proposal", msg })),
    phaseVote().map((msg): ConsensusMessage => ({ kind: "prepare", msg })),
    phaseVote().map((msg): ConsensusMessage => ({ kind: "commit", msg })),
    timeoutVote().map((msg): ConsensusMessage => ({ kind: "timeout", msg })),
    proposalQc().map((msg): ConsensusMessage => ({ kind: "commitQc", msg })),
    timeoutQc().map((msg): ConsensusMessage => ({ kind: "timeoutQc", msg })),
  );

export const haAnnouncementBody = (): fc.Arbitrary<HaAnnouncementBody> =>
  record({ validator: u16(), nodePublicKey: hash(), epoch: u64(), atMs: u64() });
export const haAnnouncement = (): fc.Arbitrary<HaAnnouncement> =>
  record({ body: haAnnouncementBody(), signature: signature() });

type ValueOfCodec<C> = C extends Codec<infer T> ? T : never;
export type CodecName = keyof typeof codecs;

/**
 * One arbitrary per entry of `codecs`, keyed alike, so a test can loop over
 * every codec; a codec without an arbitrary is a type error.
 */
export const arbitraries: { [K in CodecName]: () => fc.Arbitrary<ValueOfCodec<(typeof codecs)[K]>> } = {
  view,
  tx,
  txList,
  laneBlockHeader,
  laneBlock,
  laneVoteBody,
  laneVote,
  laneQc,
  proposal,
  phaseVoteBody,
  phaseVote,
  proposalQc,
  timeoutVoteBody,
  timeoutVote,
  timeoutQc,
  proposalMessage,
  appVoteBody,
  appVote,
  appQc,
  globalBlock,
  anchor,
  safetyRecord,
  batchVoteBody,
  batchVote,
  batchVoteMessage,
  batchQc,
  batch,
  attestationRecord,
  batchProof,
  haAnnouncementBody,
  haAnnouncement,
};
