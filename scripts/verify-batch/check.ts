/**
 * Checks a BatchQC and block-inclusion proofs against genesis.json alone,
 * the way a bridge contract or a light client would: nothing of the node's
 * own crypto path is used. Ed25519 is @noble/curves (the node signs and
 * verifies with OpenSSL), SHA-256 is @noble/hashes, and the signed bytes
 * (signing digest, batch commitment, Merkle leaves and nodes) are built here
 * from the specification in the README, byte by byte. Only the genesis
 * schema (defaults of fields a genesis file may omit) comes from the node.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { parseGenesis } from "../../node/committee/index.ts";

export interface Attester {
  index: number;
  publicKey: Uint8Array;
  weight: number;
}

export interface GenesisView {
  chainId: string;
  genesisHash: Uint8Array;
  /** One entry per committee member, in index order (weight 0: not an attester). */
  attesters: Attester[];
  totalWeight: number;
  /** Qa = Wa - floor((Wa - 1) / 3). */
  quorum: number;
}

/** The JSON of GET /batches/:n (the --qc file). */
export interface BatchJsonIn {
  number: number;
  firstIndex: number;
  lastIndex: number;
  hash: string;
  appHash: string;
  blocksRoot: string;
  lastBlockHash: string;
  qc: { signers: number[]; signatures: string[] } | null;
}

/** The JSON of GET /batches/:n/proof/:index. */
export interface ProofJsonIn {
  batch: number;
  index: number;
  blockHash: string;
  leafIndex: number;
  leafCount: number;
  siblings: string[];
  blocksRoot: string;
  batchHash: string;
}

export class CheckFailed extends Error {}

const enc = new TextEncoder();

function fail(message: string): never {
  throw new CheckFailed(message);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function unhex(s: unknown, bytes: number, what: string): Uint8Array {
  if (typeof s !== "string" || !new RegExp(`^[0-9a-f]{${2 * bytes}}$`).test(s)) {
    fail(`${what}: expected ${bytes} bytes of lowercase hex, got ${JSON.stringify(s)?.slice(0, 80)}`);
  }
  return Uint8Array.from(Buffer.from(s, "hex"));
}

function uint(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) fail(`${what}: expected an integer >= 0, got ${v}`);
  return v;
}

function u64le(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

function u64be(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** JSON with sorted keys and no whitespace. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const keys = Object.keys(v as object)
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

/** genesis.json text -> what verification needs; the genesis hash is sha256 of its canonical JSON. */
export function readGenesis(text: string, source: string): GenesisView {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail(`${source} is not JSON: ${(err as Error).message}`);
  }
  let g: ReturnType<typeof parseGenesis>;
  try {
    g = parseGenesis(raw, source);
  } catch (err) {
    fail((err as Error).message);
  }
  const attesters = g.validators.map((v) => ({
    index: v.index,
    publicKey: unhex(v.publicKey, 32, `validator ${v.index} publicKey`),
    weight: v.attesterWeight,
  }));
  const totalWeight = attesters.reduce((w, a) => w + a.weight, 0);
  if (totalWeight < 1) fail(`${source}: no attester has weight`);
  return {
    chainId: g.chainId,
    genesisHash: sha256(enc.encode(canonical(g))),
    attesters,
    totalWeight,
    quorum: totalWeight - Math.floor((totalWeight - 1) / 3),
  };
}

/**
 * The commitment a batch vote signs: sha256 of the SSZ encoding of the
 * container {chainId: ByteList[64], genesisHash: Bytes32, number: u64,
 * firstIndex: u64, lastIndex: u64, lastBlockHash: Bytes32, appHash: Bytes32,
 * blocksRoot: Bytes32}: a 156-byte fixed part (the chain id as a 4-byte
 * little-endian offset, 156), integers little-endian, then the chain id.
 */
export function commitmentHash(
  chainId: string,
  genesisHash: Uint8Array,
  b: { number: number; firstIndex: number; lastIndex: number },
  lastBlockHash: Uint8Array,
  appHash: Uint8Array,
  blocksRoot: Uint8Array,
): Uint8Array {
  const FIXED = 4 + 32 + 8 * 3 + 32 * 3;
  const offset = new Uint8Array(4);
  new DataView(offset.buffer).setUint32(0, FIXED, true);
  return sha256(
    concat(
      offset,
      genesisHash,
      u64le(b.number),
      u64le(b.firstIndex),
      u64le(b.lastIndex),
      lastBlockHash,
      appHash,
      blocksRoot,
      enc.encode(chainId),
    ),
  );
}

/** What an attester's signature covers: sha256("validator/v1/" || "batch_vote" || 0 || chainId || 0 || u64le(n) || hash). */
export function batchVoteDigest(chainId: string, number: number, hash: Uint8Array): Uint8Array {
  const zero = new Uint8Array([0]);
  return sha256(
    concat(enc.encode("validator/v1/"), enc.encode("batch_vote"), zero, enc.encode(chainId), zero, u64le(number), hash),
  );
}

/** Checks a batch and its BatchQC; returns the lines it reports. Throws CheckFailed. */
export function checkBatchQc(g: GenesisView, b: BatchJsonIn): string[] {
  const lines: string[] = [];
  const number = uint(b.number, "number");
  const firstIndex = uint(b.firstIndex, "firstIndex");
  const lastIndex = uint(b.lastIndex, "lastIndex");
  if (lastIndex < firstIndex) fail(`batch ${number}: lastIndex ${lastIndex} < firstIndex ${firstIndex}`);
  const hash = unhex(b.hash, 32, "hash");
  const expected = commitmentHash(
    g.chainId,
    g.genesisHash,
    { number, firstIndex, lastIndex },
    unhex(b.lastBlockHash, 32, "lastBlockHash"),
    unhex(b.appHash, 32, "appHash"),
    unhex(b.blocksRoot, 32, "blocksRoot"),
  );
  if (!equal(expected, hash)) {
    fail(`batch ${number}: commitment is ${hex(expected)} from its fields, but the batch says ${b.hash}`);
  }
  lines.push(
    `ok  commitment of batch ${number} (indexes ${firstIndex}..${lastIndex}, app hash ${b.appHash.slice(0, 16)}…, blocks root ${b.blocksRoot.slice(0, 16)}…) = ${b.hash}`,
  );
  const qc = b.qc;
  if (qc === null || typeof qc !== "object") fail(`batch ${number} has no BatchQC`);
  if (!Array.isArray(qc.signers) || !Array.isArray(qc.signatures) || qc.signers.length !== qc.signatures.length) {
    fail(`batch ${number}: BatchQC must list as many signers as signatures`);
  }
  const digest = batchVoteDigest(g.chainId, number, hash);
  let weight = 0;
  let prev = -1;
  qc.signers.forEach((s, i) => {
    const signer = uint(s, `signer ${i}`);
    if (signer <= prev) fail(`batch ${number}: signers must be distinct and in increasing order (${qc.signers})`);
    prev = signer;
    const a = g.attesters[signer];
    if (a === undefined || a.weight === 0) fail(`batch ${number}: signer ${signer} is not an attester in genesis`);
    const sig = unhex(qc.signatures[i], 64, `signature of ${signer}`);
    let ok = false;
    try {
      ok = ed25519.verify(sig, digest, a.publicKey);
    } catch {
      ok = false;
    }
    if (!ok) fail(`batch ${number}: the signature of attester ${signer} does not verify`);
    weight += a.weight;
  });
  if (weight < g.quorum) {
    fail(`batch ${number}: signers' attester weight ${weight} is below the quorum ${g.quorum} of ${g.totalWeight}`);
  }
  lines.push(
    `ok  BatchQC of batch ${number}: ${qc.signers.length} valid Ed25519 signatures (attesters ${qc.signers.join(", ")}), weight ${weight} >= quorum ${g.quorum} of ${g.totalWeight}`,
  );
  return lines;
}

function merkleNode(l: Uint8Array, r: Uint8Array): Uint8Array {
  return sha256(concat(new Uint8Array([1]), l, r));
}

/** Checks that global block `p.index` is in batch `b`; returns the line it reports. Throws CheckFailed. */
export function checkProof(b: BatchJsonIn, p: ProofJsonIn): string {
  const index = uint(p.index, "proof index");
  if (p.batch !== b.number) fail(`proof is for batch ${p.batch}, not ${b.number}`);
  if (p.batchHash !== b.hash) fail(`proof names batch commitment ${p.batchHash}, the batch's is ${b.hash}`);
  if (index < b.firstIndex || index > b.lastIndex) {
    fail(`proof: index ${index} is outside batch ${b.number} (${b.firstIndex}..${b.lastIndex})`);
  }
  // Position and size come from the (certified) batch, never from the proof.
  const position = index - b.firstIndex;
  const size = b.lastIndex - b.firstIndex + 1;
  const root = unhex(b.blocksRoot, 32, "blocksRoot");
  if (!Array.isArray(p.siblings) || p.siblings.length > 64) fail("proof: siblings must be a list of hashes");
  const siblings = p.siblings.map((s, i) => unhex(s, 32, `sibling ${i}`));
  const blockHash = unhex(p.blockHash, 32, "proof blockHash");
  let r: Uint8Array = sha256(concat(new Uint8Array([0]), u64be(index), blockHash));
  let fn = position;
  let sn = size - 1;
  for (const s of siblings) {
    if (sn === 0) fail(`proof for index ${index}: more siblings than the tree of ${size} leaves has`);
    if (fn % 2 === 1 || fn === sn) {
      r = merkleNode(s, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = merkleNode(r, s);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) fail(`proof for index ${index}: too few siblings for a tree of ${size} leaves`);
  if (!equal(r, root)) fail(`proof for index ${index}: the path leads to ${hex(r)}, not the batch's blocks root`);
  return `ok  global block ${index} (hash ${p.blockHash.slice(0, 16)}…) is leaf ${position} of ${size} under blocks root ${b.blocksRoot.slice(0, 16)}… of batch ${b.number}`;
}
