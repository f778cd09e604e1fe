import { BitArray } from "@chainsafe/ssz";
import { pino } from "pino";
import { Committee, DEFAULT_PARAMS, type Genesis } from "../../node/committee/index.ts";
import { aggregate, generateKeyPair, type KeyPair, peerIdOf, Signer } from "../../node/crypto/index.ts";
import {
  createNetwork,
  type Network,
  type NetworkHandlers,
  type NetworkOptions,
  type SyncServerHandlers,
} from "../../node/net/index.ts";
import {
  type AppVote,
  type BatchVoteMessage,
  type CommitQc,
  type ConsensusMessage,
  codecs,
  DOMAINS,
  encodePayload,
  type GlobalBlock,
  headerHash,
  type LaneBlock,
  type LaneQc,
  type LaneVote,
  laneBlockSigningBody,
  laneVoteSigningBody,
  type Proposal,
  payloadHash,
  phaseVoteSigningBody,
  proposalQcVoteBody,
  ZERO_HASH,
} from "../../node/types/index.ts";

export const CHAIN_ID = "nettest";

export interface NetCommittee {
  genesis: Genesis;
  committee: Committee;
  validatorKeys: KeyPair[];
  nodeKeys: KeyPair[];
  signers: Signer[];
}

/** A committee whose genesis lists real peer ids derived from deterministic node keys. */
export function netCommittee(n: number, salt = 0): NetCommittee {
  const validatorKeys = Array.from({ length: n }, (_, i) => generateKeyPair(new Uint8Array(32).fill(i + 1 + salt)));
  const nodeKeys = Array.from({ length: n }, (_, i) => generateKeyPair(new Uint8Array(32).fill(101 + i + salt)));
  const genesis: Genesis = {
    chainId: CHAIN_ID,
    genesisTimeMs: 0,
    // App votes at any index: these tests are about transport, not the checkpoint rule.
    params: { ...DEFAULT_PARAMS, maxLaneBlockBytes: 1024 * 1024, appVoteEveryIndexes: 1 },
    validators: validatorKeys.map((k, i) => ({
      index: i,
      name: `v${i}`,
      publicKey: Buffer.from(k.publicKey).toString("hex"),
      peerId: peerIdOf(nodeKeys[i]!.publicKey),
      weight: 1,
      attesterWeight: 1,
    })),
  };
  return {
    genesis,
    committee: new Committee(genesis),
    validatorKeys,
    nodeKeys,
    signers: validatorKeys.map((k) => new Signer(k.secretKey, CHAIN_ID)),
  };
}

export const quietLogger = pino({ level: process.env.LOG_LEVEL ?? "silent" });

/** Records everything a network delivers. */
export class Inbox implements NetworkHandlers {
  laneBlocks: Array<{ block: LaneBlock; from: string }> = [];
  laneVotes: LaneVote[] = [];
  laneQcs: LaneQc[] = [];
  consensus: ConsensusMessage[] = [];
  appVotes: AppVote[] = [];
  batchVotes: BatchVoteMessage[] = [];
  syncServer?: SyncServerHandlers;

  constructor(syncServer?: SyncServerHandlers) {
    if (syncServer !== undefined) this.syncServer = syncServer;
  }
  onLaneBlock(block: LaneBlock, from: string): void {
    this.laneBlocks.push({ block, from });
  }
  onLaneVote(v: LaneVote): void {
    this.laneVotes.push(v);
  }
  onLaneQc(qc: LaneQc): void {
    this.laneQcs.push(qc);
  }
  onConsensus(m: ConsensusMessage): void {
    this.consensus.push(m);
  }
  onAppVote(v: AppVote): void {
    this.appVotes.push(v);
  }
  onBatchVote(m: BatchVoteMessage): void {
    this.batchVotes.push(m);
  }
}

export interface TestNode {
  net: Network;
  inbox: Inbox;
}

export async function startNode(
  c: NetCommittee,
  opts: {
    index: number | null;
    nodeKey?: KeyPair;
    peers?: string[];
    listen?: string[];
    inbox?: Inbox;
    limits?: NetworkOptions["limits"];
    loopback?: boolean;
  },
): Promise<TestNode> {
  const inbox = opts.inbox ?? new Inbox();
  const nodeKey = opts.nodeKey ?? (opts.index !== null ? c.nodeKeys[opts.index]! : generateKeyPair());
  const net = await createNetwork({
    committee: c.committee,
    nodeKey,
    validatorIndex: opts.index,
    listen: opts.listen ?? ["/ip4/127.0.0.1/tcp/0"],
    peers: opts.peers ?? [],
    chainId: CHAIN_ID,
    logger: quietLogger,
    limits: { syncTimeoutMs: 2_000, redialMinMs: 50, redialMaxMs: 500, ...opts.limits },
    handlers: inbox,
    loopback: opts.loopback,
  });
  await net.start();
  return { net, inbox };
}

/** Polls until `check` is true; fails with `what` after the timeout (a liveness bound, not a timing assertion). */
export async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- signed test messages ----

export function laneBlock(c: NetCommittee, lane: number, number: number, parent: Uint8Array, txBytes = 64): LaneBlock {
  const txs = [new Uint8Array(txBytes).fill((number + lane) % 251)];
  const header = {
    lane,
    number,
    parent,
    payloadHash: payloadHash(encodePayload(txs)),
    txCount: txs.length,
    createdAtMs: 1_000 + number,
  };
  const unsigned: LaneBlock = { header, signature: new Uint8Array(64), payload: encodePayload(txs) };
  return { ...unsigned, signature: c.signers[lane]!.sign(DOMAINS.laneBlock, laneBlockSigningBody(unsigned)) };
}

/** Blocks 0..count-1 of a lane, hash-linked. */
export function laneChain(c: NetCommittee, lane: number, count: number, txBytes = 64): LaneBlock[] {
  const out: LaneBlock[] = [];
  let parent = ZERO_HASH;
  for (let n = 0; n < count; n++) {
    const b = laneBlock(c, lane, n, parent, txBytes);
    out.push(b);
    parent = headerHash(b.header);
  }
  return out;
}

export function laneVote(c: NetCommittee, signer: number, block: LaneBlock, signWith?: Signer): LaneVote {
  const body = { lane: block.header.lane, number: block.header.number, headerHash: headerHash(block.header) };
  return {
    body,
    signer,
    signature: (signWith ?? c.signers[signer]!).sign(DOMAINS.laneVote, laneVoteSigningBody(body)),
  };
}

export function appVote(c: NetCommittee, signer: number, index: number): AppVote {
  const body = { index, appHash: new Uint8Array(32).fill(index % 256) };
  return { body, signer, signature: c.signers[signer]!.sign(DOMAINS.appVote, codecs.appVoteBody.encode(body)) };
}

export function prepareVote(c: NetCommittee, signer: number, index: number): ConsensusMessage {
  const body = { view: { index, round: 0 }, proposalHash: new Uint8Array(32).fill(7) };
  return {
    kind: "prepare",
    msg: { body, signer, signature: c.signers[signer]!.sign(DOMAINS.prepare, phaseVoteSigningBody(body)) },
  };
}

/** A CommitQC for index k whose proposal finalizes `blocks` (per lane, hash-linked from first). */
export function commitQc(c: NetCommittee, index: number, blocks: LaneBlock[][] = []): CommitQc {
  const proposal: Proposal = {
    view: { index, round: 0 },
    createdAtMs: 1_000 + index,
    ranges: c.committee.members.map((m) => {
      const lane = blocks[m.index] ?? [];
      const first = lane[0]?.header.number ?? 0;
      const last = lane[lane.length - 1];
      return {
        lane: m.index,
        first,
        next: last === undefined ? first : last.header.number + 1,
        lastHash: last === undefined ? ZERO_HASH : headerHash(last.header),
      };
    }),
  };
  const body = phaseVoteSigningBody(proposalQcVoteBody({ proposal, signers: BitArray.fromBitLen(1), signatures: [] }));
  const parts = c.signers
    .slice(0, c.committee.quorum)
    .map((s, i) => ({ signer: i, signature: s.sign(DOMAINS.commit, body) }));
  const agg = aggregate(parts, c.committee.size);
  return { proposal, signers: agg.signers, signatures: agg.signatures };
}

export function globalBlock(c: NetCommittee, index: number, blocks: LaneBlock[][]): GlobalBlock {
  return { index, commitQc: commitQc(c, index, blocks), blocks: blocks.flat() };
}

export async function stopAll(nodes: Array<TestNode | undefined>): Promise<void> {
  await Promise.all(nodes.map((n) => n?.net.stop()));
}
