import type { VerifyCache } from "../crypto/index.ts";
import type { Metrics } from "../observability/index.ts";
import type { ProtocolNode } from "../protocol/index.ts";

/**
 * Carries the state machines' plain counters, and the signature cache's,
 * over to Prometheus. The machines stay free of any metrics library;
 * before each scrape of /metrics the runtime adds what grew since the last
 * look. (It ran after every turn before: thousands of times a second under
 * load, 2% of a node's CPU, for numbers read every few seconds.)
 */
export class MachineCounters {
  #protocol: ProtocolNode;
  readonly #metrics: Metrics;
  readonly #verifyCache: VerifyCache | undefined;
  /** Last values seen of the machines' counters; they restart from zero with a rebuilt protocol. */
  readonly #seen = new Map<string, number>();
  /** Last values seen of the signature cache's counters, which outlive a rebuild. */
  readonly #seenCache = new Map<string, number>();

  constructor(protocol: ProtocolNode, metrics: Metrics, verifyCache?: VerifyCache) {
    this.#protocol = protocol;
    this.#metrics = metrics;
    this.#verifyCache = verifyCache;
  }

  /** The protocol was rebuilt (HA role change): carries what the old one counted, then follows the new one. */
  follow(protocol: ProtocolNode): void {
    this.update();
    this.#protocol = protocol;
    this.#seen.clear();
  }

  update(): void {
    const lanes = this.#protocol.lanes.counters;
    const consensus = this.#protocol.consensus.counters;
    const m = this.#metrics;
    this.#add("produced", lanes.blocksProduced, (n) => m.laneBlocks.inc({ outcome: "produced" }, n));
    this.#add("accepted", lanes.blocksAccepted, (n) => m.laneBlocks.inc({ outcome: "accepted" }, n));
    this.#add("rejected", lanes.blocksRejected, (n) => m.laneBlocks.inc({ outcome: "rejected" }, n));
    this.#add("equivocation", lanes.equivocations, (n) => m.laneBlocks.inc({ outcome: "equivocation" }, n));
    this.#add("laneQcs", lanes.laneQcs, (n) => m.laneQcs.inc(n));
    this.#add("timeouts", consensus.timeoutVotes, (n) => m.timeouts.inc(n));
    this.#add("roundChanges", consensus.timeoutQcs, (n) => m.roundChanges.inc(n));
    const waited = consensus.proposalsGathered + consensus.proposalsGatherExpired;
    this.#add("proposals/none", consensus.proposals - waited, (n) => m.proposals.inc({ wait: "none" }, n));
    this.#add("proposals/gathered", consensus.proposalsGathered, (n) => m.proposals.inc({ wait: "gathered" }, n));
    this.#add("proposals/expired", consensus.proposalsGatherExpired, (n) => m.proposals.inc({ wait: "expired" }, n));
    const execution = this.#protocol.execution.counters;
    this.#add("bufferedNext", consensus.bufferedNextDropped, (n) => m.dropped.inc({ queue: "next_index_buffer" }, n));
    this.#add("appVotes", execution.appVotesDropped, (n) => m.dropped.inc({ queue: "app_votes" }, n));
    this.#add("pool", execution.poolDropped, (n) => m.dropped.inc({ queue: "execution_pool" }, n));
    const attestation = this.#protocol.attestation.counters;
    for (const [verdict, count] of Object.entries(attestation.votes)) {
      this.#add(`batchVotes/${verdict}`, count, (n) => m.batchVotes.inc({ verdict }, n));
    }
    this.#add("batchVotesSigned", attestation.votesSigned, (n) => m.batchVotesSigned.inc(n));
    const cache = this.#verifyCache;
    if (cache !== undefined) {
      const seen = this.#seenCache;
      this.#add("verified", cache.misses, (n) => m.signatureChecks.inc({ result: "verified" }, n), seen);
      this.#add("cached", cache.hits, (n) => m.signatureChecks.inc({ result: "cached" }, n), seen);
    }
    m.mempoolTxs.set(this.#protocol.lanes.mempoolSize);
    m.laneBlockDelay.set(this.#protocol.lanes.blockDelayMs / 1000);
    m.laneHeldBytes.set(this.#protocol.lanes.heldPayloadBytes);
    m.outboxPendingWrites.set(this.#protocol.outbox.pendingWrites);
    const view = this.#protocol.consensus.view;
    m.viewIndex.set(view.index);
    m.viewRound.set(view.round);
  }

  #add(name: string, value: number, inc: (n: number) => void, seen = this.#seen): void {
    const delta = value - (seen.get(name) ?? 0);
    if (delta > 0) inc(delta);
    seen.set(name, value);
  }
}
