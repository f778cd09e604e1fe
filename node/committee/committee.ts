import type { MemberKeys } from "../crypto/index.ts";
import { bytesEqual, toHex, type View } from "../types/index.ts";
import { type Genesis, type GenesisValidator, genesisHash, genesisPublicKey, type ProtocolParams } from "./genesis.ts";

export interface Member {
  index: number;
  name: string;
  publicKey: Uint8Array;
  peerId: string;
  weight: number;
  attesterWeight: number;
}

/**
 * The validator set of a chain with its weights and thresholds.
 * W = total weight; f = floor((W - 1) / 3); Q = W - f; A = f + 1.
 */
export class Committee implements MemberKeys {
  readonly chainId: string;
  readonly params: ProtocolParams;
  readonly members: readonly Member[];
  readonly totalWeight: number;
  /** Weight the protocol tolerates being faulty. */
  readonly f: number;
  /** Quorum: weight of any certificate that orders or finalizes. */
  readonly quorum: number;
  /** Availability quorum: at least one honest holder. */
  readonly availabilityQuorum: number;
  /** sha256 of the canonical genesis (genesis.ts): names the chain in batch commitments. */
  readonly genesisHash: Uint8Array;
  /**
   * The attesters (DESIGN section 13): the same members and keys, weighed by
   * attester weight (0 = not an attester). Batch votes and BatchQCs are
   * checked against this view.
   */
  readonly attesters: AttesterSet;
  readonly #byPublicKey = new Map<string, number>();
  readonly #byPeerId = new Map<string, number>();

  /** Whether index k is an app-vote checkpoint (genesis params.appVoteEveryIndexes; absent: every index). */
  appVotesAt(index: number): boolean {
    return index >= 1 && index % (this.params.appVoteEveryIndexes ?? 1) === 0;
  }

  constructor(genesis: Genesis) {
    this.chainId = genesis.chainId;
    this.params = genesis.params;
    this.members = genesis.validators.map((v: GenesisValidator) => ({
      index: v.index,
      name: v.name,
      publicKey: genesisPublicKey(v),
      peerId: v.peerId,
      weight: v.weight,
      attesterWeight: v.attesterWeight,
    }));
    this.totalWeight = this.members.reduce((w, m) => w + m.weight, 0);
    const q = quorums(this.totalWeight);
    this.f = q.f;
    this.quorum = q.quorum;
    this.availabilityQuorum = q.availabilityQuorum;
    this.genesisHash = genesisHash(genesis);
    this.attesters = new AttesterSet(this.members);
    for (const m of this.members) {
      this.#byPublicKey.set(toHex(m.publicKey), m.index);
      this.#byPeerId.set(m.peerId, m.index);
    }
  }

  get size(): number {
    return this.members.length;
  }

  member(index: number): Member | undefined {
    return Number.isInteger(index) ? this.members[index] : undefined;
  }

  publicKey(index: number): Uint8Array | undefined {
    return this.member(index)?.publicKey;
  }

  weight(index: number): number {
    return this.member(index)?.weight ?? 0;
  }

  isMember(index: number): boolean {
    return this.member(index) !== undefined;
  }

  indexOfPublicKey(publicKey: Uint8Array): number | undefined {
    const i = this.#byPublicKey.get(toHex(publicKey));
    return i !== undefined && bytesEqual(this.members[i]!.publicKey, publicKey) ? i : undefined;
  }

  indexOfPeerId(peerId: string): number | undefined {
    return this.#byPeerId.get(peerId);
  }

  /** Sum of distinct members' weights. */
  weightOf(signers: Iterable<number>): number {
    let w = 0;
    for (const s of new Set(signers)) w += this.weight(s);
    return w;
  }

  /** Leader of view (k, r): member (k + r) mod n. */
  leader(view: View): number {
    // Reduce each term first: index + round can pass 2^53, where the sum is
    // rounded and consecutive rounds could get the same leader.
    return ((view.index % this.size) + (view.round % this.size)) % this.size;
  }
}

/** Thresholds for a total weight W. */
export function quorums(totalWeight: number): { f: number; quorum: number; availabilityQuorum: number } {
  if (!Number.isInteger(totalWeight) || totalWeight < 1)
    throw new Error(`total weight must be a positive integer, got ${totalWeight}`);
  const f = Math.floor((totalWeight - 1) / 3);
  return { f, quorum: totalWeight - f, availabilityQuorum: f + 1 };
}

/**
 * Members weighed by attester weight. Total attester weight Wa; a BatchQC
 * needs weight >= Qa = Wa - floor((Wa - 1) / 3) of distinct attesters.
 */
export class AttesterSet implements MemberKeys {
  readonly #members: readonly Member[];
  readonly totalWeight: number;
  readonly f: number;
  readonly quorum: number;

  constructor(members: readonly Member[]) {
    this.#members = members;
    this.totalWeight = members.reduce((w, m) => w + m.attesterWeight, 0);
    const q = quorums(this.totalWeight);
    this.f = q.f;
    this.quorum = q.quorum;
  }

  get size(): number {
    return this.#members.length;
  }

  publicKey(index: number): Uint8Array | undefined {
    return Number.isInteger(index) ? this.#members[index]?.publicKey : undefined;
  }

  /** Attester weight of member `index` (0 for a non-attester or a non-member). */
  weight(index: number): number {
    return (Number.isInteger(index) ? this.#members[index]?.attesterWeight : undefined) ?? 0;
  }

  isAttester(index: number): boolean {
    return this.weight(index) > 0;
  }

  /** Sum of distinct attesters' weights. */
  weightOf(signers: Iterable<number>): number {
    let w = 0;
    for (const s of new Set(signers)) w += this.weight(s);
    return w;
  }
}
