/**
 * Crash-test child: recovers the database given in argv[2], then appends
 * through the group-commit writer as fast as it can until it is killed.
 * Prints "start <laneFirst> <laneNext> <cqcFirst> <cqcNext> <anchor>" after
 * recovery and one line per durable acknowledgement:
 *   "L <number>"  lane 0 block
 *   "C <index>"   CommitQC with the safety record (vote and lock) at its view
 *   "A <index>"   pruning anchor, with the WALs pruned to it
 */
import { Level } from "level";
import { GroupCommitWriter, openStorage, recover } from "../../node/storage/index.ts";
import { type DurableWrite, headerHash, type LaneRange, proposalHash, ZERO_HASH } from "../../node/types/index.ts";
import { appQc, commitQc, laneBlock, prepareQc, proposal } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";

const tc = testCommittee(4);
const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: crash-child.ts <db dir>");

// An ack goes out only after its write is durable; one lost in a kill only makes the check stricter.
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
const storage = await openStorage(db, tc.committee);
const state = await recover(storage, tc.committee);
const lane = state.lanes[0]!;
const lastQc = state.commitQcs.at(-1) ?? state.anchor?.commitQc;

let laneNext = lane.next;
let lastHash = lane.blocks.at(-1) ? headerHash(lane.blocks.at(-1)!.header) : ZERO_HASH;
if (lane.blocks.length === 0 && laneNext > 0) lastHash = state.anchor!.commitQc.proposal.ranges[0]!.lastHash;
let finalizedLaneNext = lastQc?.proposal.ranges[0]?.next ?? 0;
let cqcNext = state.finalizedIndex + 1;
say(
  `start ${lane.first} ${lane.next} ${state.commitQcs[0]?.proposal.view.index ?? cqcNext} ${cqcNext} ${state.anchor?.commitQc.proposal.view.index ?? 0}`,
);

const writer = new GroupCommitWriter(storage, {
  onFatal: (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  },
});
const stop = (err: unknown) => {
  process.stderr.write(`refused: ${(err as Error).message}\n`);
  process.exit(1);
};

let last: Promise<void> = Promise.resolve();
for (;;) {
  // One turn: a lane block, often a CommitQC finalizing the lane's backlog, sometimes an anchor.
  const n = laneNext++;
  const block = laneBlock(tc, 0, n, lastHash, [new Uint8Array(16 + (n % 200)).fill(n % 256)]);
  lastHash = headerHash(block.header);
  last = writer.submit([{ kind: "laneBlock", block }]).then(() => say(`L ${n}`), stop);

  if (Math.random() < 0.5) {
    const k = cqcNext++;
    const ranges: LaneRange[] = tc.signers.map((_, l) =>
      l === 0
        ? { lane: 0, first: finalizedLaneNext, next: laneNext, lastHash }
        : { lane: l, first: 0, next: 0, lastHash: ZERO_HASH },
    );
    finalizedLaneNext = laneNext;
    const p = proposal({ index: k, round: 0 }, ranges);
    const qc = commitQc(tc, p);
    const vote = { view: p.view, proposalHash: proposalHash(p) };
    const writes: DurableWrite[] = [
      { kind: "commitQc", qc },
      { kind: "safety", record: { prepare: vote, commit: vote, timeout: null, lock: prepareQc(tc, p) } },
    ];
    last = writer.submit(writes).then(() => say(`C ${k}`), stop);
    if (k % 8 === 0) {
      const anchor = { commitQc: qc, appQc: appQc(tc, k, new Uint8Array(32).fill(k % 256)) };
      last = writer
        .submit([
          { kind: "anchor", anchor },
          { kind: "pruneLane", lane: 0, before: laneNext },
          { kind: "pruneCommitQcs", before: k },
        ])
        .then(() => say(`A ${k}`), stop);
    }
  }
  if (writer.queued > 256) await last;
  await new Promise((resolve) => setImmediate(resolve));
}
