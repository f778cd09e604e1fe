import type { Committee } from "../committee/index.ts";
import { type ConsensusMessage, compareViews, type View } from "../types/index.ts";

/** "Nothing seen": views start at index 1, so (0, 0) is below every real view. */
export const NO_VIEW: View = { index: 0, round: 0 };

function maxView(a: View, b: View): View {
  return compareViews(a, b) >= 0 ? a : b;
}

/**
 * The highest consensus view in which this node has seen a message, overall
 * and per signer (a signer counts when its signature is in the message,
 * directly or inside a certificate). Peers read it in sync status answers:
 * it is what a validator that lost its safety record asks before it signs
 * again (issue 15). Fed with gossip messages that passed validation and with
 * this node's own messages. Bounded by the committee size.
 */
export class ViewsSeen {
  readonly #committee: Committee;
  #highest: View = NO_VIEW;
  readonly #bySigner: View[];

  constructor(committee: Committee) {
    this.#committee = committee;
    this.#bySigner = committee.members.map(() => NO_VIEW);
  }

  get highest(): View {
    return this.#highest;
  }

  /** Per committee index; NO_VIEW when nothing signed by it was seen. */
  get bySigner(): readonly View[] {
    return this.#bySigner;
  }

  /** A view this node is in or recorded (its own current view, its safety record). */
  noteView(view: View): void {
    this.#highest = maxView(this.#highest, view);
  }

  note(m: ConsensusMessage): void {
    switch (m.kind) {
      case "proposal": {
        const { view } = m.msg.proposal;
        this.#signed(view, [this.#committee.leader(view)]);
        if (m.msg.timeoutQc) this.#signed(m.msg.timeoutQc.view, m.msg.timeoutQc.signers.getTrueBitIndexes());
        if (m.msg.prevCommitQc) {
          this.#signed(m.msg.prevCommitQc.proposal.view, m.msg.prevCommitQc.signers.getTrueBitIndexes());
        }
        return;
      }
      case "prepare":
      case "commit":
        this.#signed(m.msg.body.view, [m.msg.signer]);
        return;
      case "timeout":
        this.#signed(m.msg.body.view, [m.msg.signer]);
        if (m.msg.lock) this.#signed(m.msg.lock.proposal.view, m.msg.lock.signers.getTrueBitIndexes());
        return;
      case "commitQc":
        this.#signed(m.msg.proposal.view, m.msg.signers.getTrueBitIndexes());
        return;
      case "timeoutQc":
        this.#signed(m.msg.view, m.msg.signers.getTrueBitIndexes());
        if (m.msg.highQc) this.#signed(m.msg.highQc.proposal.view, m.msg.highQc.signers.getTrueBitIndexes());
        return;
    }
  }

  #signed(view: View, signers: number[]): void {
    this.noteView(view);
    for (const s of signers) {
      const cur = this.#bySigner[s];
      if (cur !== undefined) this.#bySigner[s] = maxView(cur, view);
    }
  }
}
