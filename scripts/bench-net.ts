/**
 * Lane-block-sized messages between four validator processes on 127.0.0.1:
 * the push protocol (node/net, one long-lived stream per peer) against
 * gossipsub (same libp2p stack, StrictNoSign, content-hash ids, IDONTWANT
 * off), side by side.
 *
 * Both configurations run the node's own host (node/net createHost, the
 * libp2p stack and gossipsub settings of a running node, limits from the
 * shipped config), so the benchmark cannot drift from the node.
 *
 * Every process owns a lane and sends its own blocks at a fixed offered rate;
 * every receiver decodes each block and checks its payload hash and the lane
 * owner's signature (the same work node/net does on a pushed block).
 *
 * Reported per configuration: delivered MB/s per receiver, latency p50/p99
 * (send to verified delivery, one clock), CPU-ms of all four processes per
 * delivered MB (process.cpuUsage), and blocks lost (push queue drops or
 * gossip messages that never arrived).
 *
 *   npm run bench:net -- [--sizes 65536,262144] [--rates 2,8] [--seconds 4] [--modes push,gossip] [--tx-bytes 1024]
 *
 * --rates are offered MB/s per sender (so a receiver is offered 3x that).
 */
import { fork } from "node:child_process";
import { TopicValidatorResult } from "@libp2p/gossipsub";
import { multiaddr } from "@multiformats/multiaddr";
import { pino } from "pino";
import { defaultConfig } from "../node/config/index.ts";
import { libp2pPrivateKey, peerIdOf, type Signer, verifyMemberSignature } from "../node/crypto/index.ts";
import { createHost, createNetwork, protocolIds, resolveLimits } from "../node/net/index.ts";
import {
  bytesEqual,
  codecs,
  DOMAINS,
  forEachTx,
  headerHash,
  type LaneBlock,
  laneBlockSigningBody,
  payloadHash,
  payloadTxs,
  ZERO_HASH,
} from "../node/types/index.ts";
import { benchCommittee, signedLaneBlock } from "./bench/chain.ts";
import { parseScriptArgs, usageExit } from "./cli.ts";
import { freePorts } from "./cluster/index.ts";

const N = 4;
const CHAIN_ID = "benchnet";
const MAX_LATENCY_SAMPLES = 20_000;

type Mode = "push" | "gossip";

interface RunSpec {
  mode: Mode;
  sizeBytes: number;
  rateMBps: number;
  seconds: number;
  txBytes: number;
  ports: number[];
}

interface ChildReport {
  index: number;
  receivedBlocks: number;
  receivedBytes: number;
  firstRecvMs: number;
  lastRecvMs: number;
  sentBlocks: number;
  droppedBlocks: number;
  latenciesMs: number[];
  cpuUserMs: number;
  cpuSystemMs: number;
  windowMs: number;
}

// ---- shared setup ----

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A signed lane block of about `sizeBytes` made of `txBytes` transactions
 * (a block's txs are bounded by MAX_TX_BYTES); the first tx starts with the
 * send time (float64).
 */
function makeBlock(
  signer: Signer,
  lane: number,
  number: number,
  parent: Uint8Array,
  sizeBytes: number,
  txBytes: number,
): LaneBlock {
  const count = Math.max(1, Math.round((sizeBytes - 200) / (txBytes + 4)));
  const txs = Array.from({ length: count }, (_, i) => new Uint8Array(txBytes).fill((lane + i) % 251));
  new DataView(txs[0]!.buffer).setFloat64(0, nowMs());
  return signedLaneBlock(signer, lane, number, parent, txs, Math.floor(nowMs()));
}

/** Payload bytes of a block (what "delivered MB" counts). */
function payloadBytes(block: LaneBlock): number {
  let n = 0;
  forEachTx(block.payload, (tx) => {
    n += tx.byteLength;
  });
  return n;
}

function sentAt(block: LaneBlock): number {
  const tx = payloadTxs(block.payload)[0]!;
  return new DataView(tx.buffer, tx.byteOffset, tx.byteLength).getFloat64(0);
}

// ---- child process ----

async function child(): Promise<void> {
  const spec = await new Promise<RunSpec & { index: number }>((resolve) => process.once("message", resolve as never));
  const { index, mode } = spec;
  const bench = benchCommittee(N, CHAIN_ID, { maxLaneBlockBytes: 4 * 1024 * 1024 });
  const { committee } = bench;
  const signer = bench.signers[index]!;
  const addrOf = (i: number) => `/ip4/127.0.0.1/tcp/${spec.ports[i]}/p2p/${peerIdOf(bench.nodeKeys[i]!.publicKey)}`;
  const others = [...Array(N).keys()].filter((i) => i !== index);

  const report: ChildReport = {
    index,
    receivedBlocks: 0,
    receivedBytes: 0,
    firstRecvMs: 0,
    lastRecvMs: 0,
    sentBlocks: 0,
    droppedBlocks: 0,
    latenciesMs: [],
    cpuUserMs: 0,
    cpuSystemMs: 0,
    windowMs: 0,
  };
  const received = (block: LaneBlock, bytes: number) => {
    const t = nowMs();
    if (report.receivedBlocks === 0) report.firstRecvMs = t;
    report.lastRecvMs = t;
    report.receivedBlocks++;
    report.receivedBytes += bytes;
    if (report.latenciesMs.length < MAX_LATENCY_SAMPLES) report.latenciesMs.push(t - sentAt(block));
  };

  let send: (block: LaneBlock) => void;
  let ready: () => boolean;
  let stop: () => Promise<void>;
  let dropped: () => number = () => 0;
  let debugInfo: () => string = () => "";

  if (mode === "push") {
    const net = await createNetwork({
      committee,
      nodeKey: bench.nodeKeys[index]!,
      validatorIndex: index,
      listen: [`/ip4/127.0.0.1/tcp/${spec.ports[index]}`],
      peers: others.map(addrOf),
      logger: pino({ level: process.env.BENCH_LOG ?? "warn" }),
      limits: { maxPushQueueBlocks: 1024, maxPushQueueBytes: 256 * 1024 * 1024 },
      handlers: {
        onLaneBlock: (block, from) => {
          if (from !== net.peerId) received(block, payloadBytes(block));
        },
        onLaneVote: () => {},
        onLaneQc: () => {},
        onConsensus: () => {},
        onAppVote: () => {},
        onBatchVote: () => {},
      },
    });
    await net.start();
    send = (b) => net.pushLaneBlock(b);
    ready = () => net.metrics.snapshot().peers.committeeConnected === N - 1;
    stop = () => net.stop();
    dropped = () => net.metrics.snapshot().push.dropped;
    debugInfo = () => JSON.stringify([net.metrics.snapshot().push, net.pushStatus()]);
  } else {
    // The node's host allows only its own topics: lane blocks ride the lane_vote topic of this bench chain.
    const ids = protocolIds(CHAIN_ID, N);
    const topic = ids.topic.lane_vote;
    const host = await createHost({
      privateKey: libp2pPrivateKey(bench.nodeKeys[index]!),
      listen: [`/ip4/127.0.0.1/tcp/${spec.ports[index]}`],
      ids,
      limits: resolveLimits({ maxGossipFrameBytes: defaultConfig().p2p.maxMessageBytes }),
    });
    await host.start();
    const pubsub = host.services.pubsub;
    const decoded = new WeakMap<Uint8Array, LaneBlock>();
    pubsub.topicValidators.set(topic, (_peer, msg) => {
      // The same checks node/net runs on a pushed block.
      try {
        const b = codecs.laneBlock.decode(msg.data);
        const ok =
          committee.isMember(b.header.lane) &&
          bytesEqual(b.header.payloadHash, payloadHash(b.payload)) &&
          verifyMemberSignature(
            committee,
            b.header.lane,
            DOMAINS.laneBlock,
            CHAIN_ID,
            laneBlockSigningBody(b),
            b.signature,
          );
        if (!ok) return TopicValidatorResult.Reject;
        decoded.set(msg.data, b);
        return TopicValidatorResult.Accept;
      } catch {
        return TopicValidatorResult.Reject;
      }
    });
    pubsub.addEventListener("message", (evt) => {
      const b = decoded.get(evt.detail.data);
      if (b !== undefined) received(b, payloadBytes(b));
    });
    pubsub.subscribe(topic);
    for (const i of others) {
      await host.dial(multiaddr(addrOf(i))).catch(() => {});
    }
    send = (b) => {
      pubsub.publish(topic, codecs.laneBlock.encode(b)).catch(() => {
        report.droppedBlocks++;
      });
    };
    ready = () => pubsub.getSubscribers(topic).length === N - 1;
    stop = async () => {
      await host.stop();
    };
  }

  const deadline = Date.now() + 20_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`child ${index}: peers did not connect`);
    await new Promise((r) => setTimeout(r, 50));
  }
  process.send?.({ type: "ready" });
  await new Promise((resolve) => process.once("message", resolve));

  // Offered load: rateMBps of blocks, paced every 5 ms, for `seconds`.
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  const bytesPerMs = (spec.rateMBps * 1024 * 1024) / 1000;
  let parent = ZERO_HASH;
  while (nowMs() - t0 < spec.seconds * 1000) {
    const due = Math.floor(((nowMs() - t0) * bytesPerMs) / spec.sizeBytes) + 1;
    while (report.sentBlocks < due) {
      const b = makeBlock(signer, index, report.sentBlocks, parent, spec.sizeBytes, spec.txBytes);
      parent = headerHash(b.header);
      send(b);
      report.sentBlocks++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  // Drain: the parent tells each receiver how many blocks the others sent; wait for
  // all of them, or until nothing has arrived for 3 s (then the rest counts as lost).
  process.send?.({ type: "sent", sentBlocks: report.sentBlocks });
  const { expected } = await new Promise<{ expected: number }>((resolve) => process.once("message", resolve as never));
  let lastCount = -1;
  let quietSince = nowMs();
  while (report.receivedBlocks < expected && nowMs() - quietSince < 3000) {
    await new Promise((r) => setTimeout(r, 50));
    if (report.receivedBlocks !== lastCount) {
      lastCount = report.receivedBlocks;
      quietSince = nowMs();
    }
  }
  const cpu = process.cpuUsage(cpu0);
  report.cpuUserMs = cpu.user / 1000;
  report.cpuSystemMs = cpu.system / 1000;
  report.windowMs = nowMs() - t0;
  report.droppedBlocks += dropped();
  if (process.env.BENCH_DEBUG) {
    process.stderr.write(
      `child ${index}: sent ${report.sentBlocks} received ${report.receivedBlocks} expected ${expected} ${debugInfo()}\n`,
    );
  }
  process.send?.({ type: "report", report });
  // Stay connected until the parent has every report, so nobody's drain is cut short.
  await new Promise((resolve) => process.once("message", resolve));
  await stop();
  process.exit(0);
}

// ---- parent ----

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(spec: Omit<RunSpec, "ports">): Promise<Record<string, number | string>> {
  const ports = await freePorts(N);
  const children = [...Array(N).keys()].map(() =>
    fork(import.meta.filename, ["--child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  const exited = children.map((c) => new Promise<void>((resolve) => c.once("exit", () => resolve())));
  const onMessage = <T>(type: string) =>
    Promise.all(
      children.map(
        (c) =>
          new Promise<T>((resolve, reject) => {
            const onMsg = (m: { type: string } & T) => {
              if (m.type === type) {
                c.off("message", onMsg);
                resolve(m);
              }
            };
            c.on("message", onMsg);
            c.once("exit", (code) => reject(new Error(`child exited with ${code} before ${type}`)));
          }),
      ),
    );
  const readyAll = onMessage<unknown>("ready");
  children.forEach((c, index) => {
    c.send({ ...spec, ports, index });
  });
  await readyAll;
  const sentP = onMessage<{ sentBlocks: number }>("sent");
  const reportsP = onMessage<{ report: ChildReport }>("report");
  for (const c of children) c.send({ type: "go" });
  const sentCounts = (await sentP).map((m) => m.sentBlocks);
  const totalSent = sentCounts.reduce((a, b) => a + b, 0);
  children.forEach((c, i) => {
    c.send({ type: "expected", expected: totalSent - sentCounts[i]! });
  });
  const reports = (await reportsP).map((m) => m.report);
  for (const c of children) c.send({ type: "stop" });
  await Promise.all(exited);

  const latencies = reports.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  const sent = reports.reduce((n, r) => n + r.sentBlocks, 0);
  const received = reports.reduce((n, r) => n + r.receivedBlocks, 0);
  const deliveredMB = reports.reduce((n, r) => n + r.receivedBytes, 0) / (1024 * 1024);
  const cpuMs = reports.reduce((n, r) => n + r.cpuUserMs + r.cpuSystemMs, 0);
  const perReceiverMBps =
    (reports.reduce((n, r) => n + r.receivedBytes / Math.max(1, r.lastRecvMs - (r.firstRecvMs - 1)), 0) /
      reports.length /
      1024 /
      1024) *
    1000;
  const windowS = Math.max(...reports.map((r) => r.windowMs)) / 1000;
  return {
    mode: spec.mode,
    sizeKiB: spec.sizeBytes / 1024,
    offeredPerReceiverMBps: spec.rateMBps * (N - 1),
    deliveredPerReceiverMBps: round(perReceiverMBps),
    droppedBlocks: reports.reduce((n, r) => n + r.droppedBlocks, 0),
    lostPct: round((100 * (sent * (N - 1) - received)) / Math.max(1, sent * (N - 1))),
    p50ms: round(percentile(latencies, 50)),
    p99ms: round(percentile(latencies, 99)),
    cpuMsPerMB: round(cpuMs / Math.max(deliveredMB, 1e-9)),
    cpuCores: round(cpuMs / 1000 / windowS),
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

const USAGE = `usage: npm run bench:net -- [--sizes 65536,262144] [--rates 2,8] [--seconds 4] [--modes push,gossip] [--tx-bytes 1024]
  Lane-block-sized messages between four processes on 127.0.0.1, over the push protocol and over gossipsub:
  delivered MB/s per receiver, latency p50/p99, CPU-ms per delivered MB, blocks lost.
  --sizes message bytes, --rates offered MB/s per sender (a receiver is offered 3x), --seconds per run.
`;

async function main(): Promise<void> {
  const cli = { script: "bench:net", usage: USAGE };
  const values = parseScriptArgs({
    ...cli,
    options: {
      child: { type: "boolean", default: false },
      sizes: { type: "string", default: "65536,262144" },
      rates: { type: "string", default: "2,8" },
      seconds: { type: "string", default: "4" },
      modes: { type: "string", default: "push,gossip" },
      "tx-bytes": { type: "string", default: "1024" },
    },
  });
  if (values.child) return child();
  const sizes = values.sizes.split(",").map(Number);
  const rates = values.rates.split(",").map(Number);
  const modes = values.modes.split(",") as Mode[];
  const seconds = Number(values.seconds);
  const txBytes = Number(values["tx-bytes"]);
  for (const m of modes)
    if (m !== "push" && m !== "gossip") usageExit(cli.script, cli.usage, `--modes: unknown mode ${m}`);
  if ([...sizes, ...rates, seconds, txBytes].some((x) => !Number.isFinite(x) || x <= 0))
    usageExit(cli.script, cli.usage, "--sizes, --rates, --seconds and --tx-bytes take positive numbers");
  const rows: Array<Record<string, number | string>> = [];
  for (const sizeBytes of sizes) {
    for (const rateMBps of rates) {
      for (const mode of modes) {
        const row = await run({ mode, sizeBytes, rateMBps, seconds, txBytes });
        rows.push(row);
        process.stdout.write(`${JSON.stringify(row)}\n`);
      }
    }
  }
  console.table(rows);
}

await main();
