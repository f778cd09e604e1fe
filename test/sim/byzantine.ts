/**
 * A Byzantine committee member for the simulator (issue 11): it runs the
 * honest protocol (so it keeps its place in quorums) and, during the fault
 * phase, floods every other node with validly signed junk aimed at the
 * bounded buffers and at evidence: far-future app votes, timeout votes for
 * rounds of the next index, far-future proposals, a second lane block at its
 * own latest number, junk blocks ahead of it, and second prepare and app
 * votes that contradict its own.
 */
import type { Committee } from "../../node/committee/index.ts";
import type { Signer } from "../../node/crypto/index.ts";
import type { NodeInput, ProtocolNode } from "../../node/protocol/index.ts";
import {
  appVoteSigningBody,
  codecs,
  DOMAINS,
  encodePayload,
  type LaneBlock,
  laneBlockSigningBody,
  type Proposal,
  payloadHash,
  phaseVoteSigningBody,
  timeoutVoteSigningBody,
  ZERO_HASH,
} from "../../node/types/index.ts";
import type { Prng } from "./prng.ts";

export class ByzantineFlood {
  readonly #me: number;
  readonly #signer: Signer;
  readonly #committee: Committee;
  #seq = 0;

  constructor(me: number, signer: Signer, committee: Committee) {
    this.#me = me;
    this.#signer = signer;
    this.#committee = committee;
  }

  /** One burst of junk, given the Byzantine node's own (honest) state. */
  burst(node: ProtocolNode, rng: Prng): NodeInput[] {
    const out: NodeInput[] = [];
    const me = this.#me;
    const view = node.consensus.view;
    const rand32 = () => Uint8Array.from({ length: 32 }, () => rng.int(0, 255));
    // App votes are only valid at genesis checkpoints: the junk aims at those.
    const every = this.#committee.params.appVoteEveryIndexes ?? 1;
    // Far-future app votes (item 4).
    for (let i = 0; i < 16; i++) {
      const body = { index: (Math.floor(1_000_000_000 / every) + this.#seq++) * every, appHash: rand32() };
      out.push({
        kind: "appVote",
        vote: { body, signer: me, signature: this.#sign(DOMAINS.appVote, appVoteSigningBody(body)) },
      });
    }
    // A second app vote for its own last voted checkpoint (evidence: app_vote).
    const checkpoint = Math.floor(node.execution.executedIndex / every) * every;
    if (checkpoint > 0) {
      const body = { index: checkpoint, appHash: rand32() };
      out.push({
        kind: "appVote",
        vote: { body, signer: me, signature: this.#sign(DOMAINS.appVote, appVoteSigningBody(body)) },
      });
    }
    // Timeout votes for many rounds of the next index (item 7) and far rounds of this one.
    for (let i = 0; i < 12; i++) {
      const v =
        i < 8
          ? { index: view.index + 1, round: rng.int(0, 300) }
          : { index: view.index, round: view.round + rng.int(2, 200) };
      const body = { view: v, lockRound: null };
      out.push({
        kind: "consensus",
        msg: {
          kind: "timeout",
          msg: { body, signer: me, signature: this.#sign(DOMAINS.timeout, timeoutVoteSigningBody(body)), lock: null },
        },
      });
    }
    // A prepare vote for a random hash in the current view (evidence: prepare, with its own real one).
    const pbody = { view, proposalHash: rand32() };
    out.push({
      kind: "consensus",
      msg: {
        kind: "prepare",
        msg: { body: pbody, signer: me, signature: this.#sign(DOMAINS.prepare, phaseVoteSigningBody(pbody)) },
      },
    });
    // Proposals for far-future views it leads (item 5's and the next-index buffers).
    for (let i = 0; i < 4; i++) {
      const index = view.index + rng.int(1, 1000);
      const round = (((me - index) % this.#committee.size) + this.#committee.size) % this.#committee.size;
      const proposal: Proposal = {
        view: { index, round },
        createdAtMs: 0,
        ranges: this.#committee.members.map((_, lane) => ({ lane, first: 0, next: 0, lastHash: ZERO_HASH })),
      };
      out.push({
        kind: "consensus",
        msg: {
          kind: "proposal",
          msg: {
            proposal,
            signature: this.#sign(DOMAINS.proposal, codecs.proposal.encode(proposal)),
            laneQcs: [],
            timeoutQc: null,
            prevCommitQc: null,
          },
        },
      });
    }
    // A second block at its own latest number (evidence: lane_block), and junk
    // blocks just ahead of it (the execution pool, the lanes' ahead buffer).
    const next = node.lanes.laneNext(me);
    const held = next > 0 ? node.lanes.heldBlock(me, next - 1) : undefined;
    if (held !== undefined)
      out.push({ kind: "laneBlock", block: this.#block(held.header.number, held.header.parent, rng) });
    for (let i = 0; i < 4; i++)
      out.push({ kind: "syncLaneBlocks", blocks: [this.#block(next + rng.int(0, 8), rand32(), rng)] });
    return out;
  }

  #block(number: number, parent: Uint8Array, rng: Prng): LaneBlock {
    const txs = [new TextEncoder().encode(`byzantine-${this.#seq++}-${rng.int(0, 1e9)}`)];
    const payload = encodePayload(txs);
    const block: LaneBlock = {
      header: { lane: this.#me, number, parent, payloadHash: payloadHash(payload), txCount: 1, createdAtMs: 0 },
      signature: new Uint8Array(64),
      payload,
    };
    block.signature = this.#sign(DOMAINS.laneBlock, laneBlockSigningBody(block));
    return block;
  }

  #sign(domain: (typeof DOMAINS)[keyof typeof DOMAINS], body: Uint8Array): Uint8Array {
    return this.#signer.sign(domain, body);
  }
}
