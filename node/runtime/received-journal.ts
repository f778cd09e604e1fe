import type { Logger } from "pino";
import {
  type AppVote,
  type ConsensusMessage,
  headerHash,
  type LaneBlock,
  type LaneVote,
  toHex,
} from "../types/index.ts";

/**
 * At debug level, one line per signed message received from the network
 * ("signed received": signer, kind, slot, hash): an audit trail in which two
 * lines with one signer, kind and slot but different hashes are that
 * signer's equivocation. The failover test scans every node's trail for the
 * HA validator's key.
 */
export class ReceivedJournal {
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Whether lines are written (debug level). */
  get enabled(): boolean {
    return this.#log.isLevelEnabled("debug");
  }

  laneBlock(b: LaneBlock): void {
    if (!this.enabled) return;
    const { lane, number } = b.header;
    this.#line(lane, "laneBlock", String(number), toHex(headerHash(b.header)));
  }

  laneVote(v: LaneVote): void {
    if (!this.enabled) return;
    this.#line(v.signer, "laneVote", `${v.body.lane}/${v.body.number}`, toHex(v.body.headerHash));
  }

  appVote(v: AppVote): void {
    if (!this.enabled) return;
    this.#line(v.signer, "appVote", String(v.body.index), toHex(v.body.appHash));
  }

  consensus(m: ConsensusMessage): void {
    if (!this.enabled) return;
    if (m.kind === "prepare" || m.kind === "commit") {
      const { view, proposalHash } = m.msg.body;
      this.#line(m.msg.signer, m.kind, `${view.index}/${view.round}`, toHex(proposalHash));
    } else if (m.kind === "timeout") {
      const { view, lockRound } = m.msg.body;
      this.#line(m.msg.signer, "timeout", `${view.index}/${view.round}`, String(lockRound));
    }
  }

  #line(signer: number, kind: string, slot: string, hash: string): void {
    this.#log.debug({ signer, kind, slot, hash }, "signed received");
  }
}
