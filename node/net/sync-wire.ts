/**
 * Wire format of the sync protocol (`/validator/<chainId>/sync/1`). One
 * request per stream: the client writes one request frame and closes its
 * writable end; the server answers with one header frame, then up to the
 * bounded number of item frames (each an encoded CommitQC, lane block or
 * global block, or one status), then closes.
 *
 * These types are local to the network layer: no state machine sees them.
 */
import { ContainerType, ListCompositeType, UintNumberType, type ValueOf } from "@chainsafe/ssz";
import { Codec, MAX_VALIDATORS } from "../types/index.ts";
import type { SyncKind } from "./metrics.ts";

const U8 = new UintNumberType(1);
const U16 = new UintNumberType(2);
const U64 = new UintNumberType(8);
/** A consensus view, as in the consensus wire types. */
const ViewType = new ContainerType({ index: U64, round: new UintNumberType(4) });

export const SYNC_KINDS: readonly SyncKind[] = ["status", "commitQcs", "laneBlocks", "globalBlocks", "batchQcs"];

/** Inclusive range first..last; `lane` is used by laneBlocks only (0 otherwise). */
export const SyncRequestType = new ContainerType({ kind: U8, lane: U16, first: U64, last: U64 });

/** Held range [first, next): `next` is one past the highest held. Empty when first == next. */
const HeldRangeType = new ContainerType({ first: U64, next: U64 });
const LaneHeldType = new ContainerType({ lane: U16, first: U64, next: U64 });

export const SyncStatusType = new ContainerType({
  commitQcs: HeldRangeType,
  globalBlocks: HeldRangeType,
  lanes: new ListCompositeType(LaneHeldType, MAX_VALIDATORS),
  /** BatchQCs held (batch numbers, gap-free from first). */
  batchQcs: HeldRangeType,
  /**
   * The highest consensus view in which the answering node has seen a
   * message, and per committee member the highest view of a message carrying
   * its signature ((0, 0) = none). A validator that lost its safety record
   * reads these before it signs again (issue 15).
   */
  views: new ContainerType({ highest: ViewType, bySigner: new ListCompositeType(ViewType, MAX_VALIDATORS) }),
});

/** Response header: a code, and for errors a short reason the client logs. */
export const SyncResponseHeaderType = new ContainerType({ code: U8, items: U16 });

export type SyncRequestWire = ValueOf<typeof SyncRequestType>;
export type SyncStatus = ValueOf<typeof SyncStatusType>;
export type HeldRange = ValueOf<typeof HeldRangeType>;

export const syncCodecs = {
  request: new Codec("SyncRequest", SyncRequestType, 64),
  status: new Codec("SyncStatus", SyncStatusType, 64 * 1024),
  header: new Codec("SyncResponseHeader", SyncResponseHeaderType, 16),
} as const;

/** Response codes. `items` in the header is the number of item frames that follow. */
export const SYNC_CODE = {
  ok: 0,
  badRequest: 1,
  rateLimited: 2,
  unavailable: 3,
  /** The range starts below what the server retains (storage.retainIndexes pruned it). */
  pruned: 4,
} as const;

export type SyncRequest =
  | { kind: "status" }
  | { kind: "commitQcs"; first: number; last: number }
  | { kind: "laneBlocks"; lane: number; first: number; last: number }
  | { kind: "globalBlocks"; first: number; last: number }
  | { kind: "batchQcs"; first: number; last: number };

export function encodeRequest(r: SyncRequest): Uint8Array {
  const kind = SYNC_KINDS.indexOf(r.kind);
  return syncCodecs.request.encode({
    kind,
    lane: r.kind === "laneBlocks" ? r.lane : 0,
    first: r.kind === "status" ? 0 : r.first,
    last: r.kind === "status" ? 0 : r.last,
  });
}

/** Decodes and checks a request; throws with the reason on anything malformed. */
export function decodeRequest(bytes: Uint8Array): SyncRequest {
  const w = syncCodecs.request.decode(bytes);
  const kind = SYNC_KINDS[w.kind];
  if (kind === undefined) throw new Error(`unknown sync request kind ${w.kind}`);
  if (kind === "status") return { kind };
  if (w.last < w.first) throw new Error(`sync range ${w.first}..${w.last} is empty`);
  if (kind === "laneBlocks") return { kind, lane: w.lane, first: w.first, last: w.last };
  return { kind, first: w.first, last: w.last };
}
