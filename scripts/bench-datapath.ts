/**
 * `npm run bench:datapath`: CPU per transaction of the node's data path for
 * lane blocks from a peer, in one process (no cluster, no network, no disk):
 * decode a pushed block, hash its payload as received, encode it for the
 * lane WAL, execute it in the kv app, hash its txs once (chain index,
 * pending map, event stream in hex), encode the global block for the chain
 * store. Signature checks, consensus, LevelDB and libp2p are not in it: it
 * isolates what issue 14's "bytes, not objects; hash once" changed.
 *
 *   npm run bench:datapath -- [--blocks 400] [--txs 500] [--tx-bytes 512]
 */
import { BitArray } from "@chainsafe/ssz";
import { KvApp } from "../node/execution/index.ts";
import {
  codecs,
  encodePayload,
  forEachTx,
  type GlobalBlock,
  type LaneBlock,
  payloadHash,
  txHashList,
  txHashListHex,
} from "../node/types/index.ts";
import { optionValue, parseScriptArgs, positiveNumber } from "./cli.ts";

export interface DataPathResult {
  blocks: number;
  txsPerBlock: number;
  txBytes: number;
  cpuMicrosPerTx: number;
}

/** Lane block of `count` kv txs of `bytes` bytes each (`key-i-r=aaa...`). */
export function sampleBlock(count: number, bytes: number): LaneBlock {
  const txs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const tx = new Uint8Array(bytes).fill(0x61);
    tx.set(new TextEncoder().encode(`key-${i}-${(i * 7919) % 100_003}=`).subarray(0, Math.max(0, bytes - 1)));
    txs.push(tx);
  }
  const payload = encodePayload(txs);
  const header = {
    lane: 1,
    number: 7,
    parent: new Uint8Array(32),
    payloadHash: payloadHash(payload),
    txCount: count,
    createdAtMs: 1,
  };
  return { header, signature: new Uint8Array(64), payload };
}

/** Runs the path over `blocks` copies of one encoded block; returns CPU µs per tx (after a warm-up). */
export function measureDataPath(blocks: number, txsPerBlock: number, txBytes: number): DataPathResult {
  const encoded = codecs.laneBlock.encode(sampleBlock(txsPerBlock, txBytes));
  const commitQc = {
    proposal: { view: { index: 5, round: 0 }, createdAtMs: 1, ranges: [] },
    signers: BitArray.fromBitLen(4),
    signatures: [],
  };
  const app = new KvApp();
  const apply = (tx: Uint8Array) => {
    app.apply(tx);
  };
  let sink = 0;
  const once = () => {
    const b = codecs.laneBlock.decode(encoded);
    sink += payloadHash(b.payload)[0]!;
    sink += codecs.laneBlock.encode(b).byteLength;
    app.beginBlock(5, new Uint8Array(32));
    forEachTx(b.payload, apply);
    sink += app.hash()[0]!;
    sink += app.takeWrites().puts.length;
    sink += txHashListHex(txHashList([b])).length;
    const g: GlobalBlock = { index: 5, commitQc, blocks: [b] };
    sink += codecs.globalBlock.encode(g).byteLength;
  };
  for (let i = 0; i < Math.min(50, blocks); i++) once();
  const start = process.cpuUsage();
  for (let i = 0; i < blocks; i++) once();
  const used = process.cpuUsage(start);
  if (sink === -1) throw new Error("unreachable");
  return { blocks, txsPerBlock, txBytes, cpuMicrosPerTx: (used.user + used.system) / (blocks * txsPerBlock) };
}

const USAGE = `usage: npm run bench:datapath -- [--blocks 400] [--txs 500] [--tx-bytes 512]
  CPU per transaction of the data path for lane blocks from a peer, in one process (no cluster, network or disk):
  --blocks lane blocks of --txs txs of --tx-bytes bytes each.
`;

if (import.meta.main) {
  const cli = { script: "bench:datapath", usage: USAGE };
  const values = parseScriptArgs({
    ...cli,
    options: {
      blocks: { type: "string", default: "400" },
      txs: { type: "string", default: "500" },
      "tx-bytes": { type: "string", default: "512" },
    },
  });
  const [blocks, txs, txBytes] = optionValue(cli, () => [
    Math.ceil(positiveNumber("blocks", values.blocks, 400)),
    Math.ceil(positiveNumber("txs", values.txs, 500)),
    Math.max(32, Math.round(positiveNumber("tx-bytes", values["tx-bytes"], 512))),
  ]);
  const r = measureDataPath(blocks, txs, txBytes);
  process.stdout.write(
    `data path: ${r.cpuMicrosPerTx.toFixed(2)} us CPU per tx (${r.blocks} blocks of ${r.txsPerBlock} x ${r.txBytes} B)\n`,
  );
}
