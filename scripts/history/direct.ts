/**
 * A finalized history written directly, without running consensus: the
 * testnet keys are known, so the generator signs what the validators would
 * have signed. Index k finalizes one lane block per lane (number k - 1,
 * hash-linked to the previous one, `txsPerLaneBlock` unique key=value txs)
 * under a CommitQC of round 0 signed by every validator. Only finalized
 * global blocks come out (what a peer that pruned everything else serves),
 * each encoded as on the wire; nothing here is consensus, so building 30,000
 * indexes takes seconds, not hours (scripts/history's buildHistory runs the
 * real protocol and makes ~10 indexes/s).
 *
 * The keys are deterministic (validator i's seed is 32 bytes of i + 1, as
 * in the test committee), so the same file is valid for any checkout whose
 * wire format and signing bodies are the same: catch-up before and after a
 * change is measured on one history (scripts/measure-catchup-direct.ts).
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { Committee, DEFAULT_PARAMS, type Genesis } from "../../node/committee/index.ts";
import { aggregate, generateKeyPair, type KeyPair, Signer } from "../../node/crypto/index.ts";
import { type Storage, WriteSet } from "../../node/storage/index.ts";
import {
  codecs,
  DOMAINS,
  encodePayload,
  type GlobalBlock,
  headerHash,
  type LaneBlock,
  laneBlockSigningBody,
  type Proposal,
  type ProposalQc,
  payloadHash,
  phaseVoteSigningBody,
  proposalQcVoteBody,
  toHex,
  txHashList,
  ZERO_HASH,
} from "../../node/types/index.ts";

export const DIRECT_CHAIN_ID = "catchup-direct";
export const DIRECT_VALIDATORS = 4;
/** Genesis time of the direct history; block k is stamped 100 ms after block k-1. */
const GENESIS_MS = 1_700_000_000_000;

/** The direct history's validator keys: seed of validator i is 32 bytes of i + 1. */
export function directKeys(): KeyPair[] {
  return Array.from({ length: DIRECT_VALIDATORS }, (_, i) => generateKeyPair(new Uint8Array(32).fill(i + 1)));
}

/** The direct history's genesis (the default protocol parameters). */
export function directGenesis(): Genesis {
  return {
    chainId: DIRECT_CHAIN_ID,
    genesisTimeMs: GENESIS_MS,
    params: { ...DEFAULT_PARAMS },
    validators: directKeys().map((k, i) => ({
      index: i,
      name: `v${i}`,
      publicKey: toHex(k.publicKey),
      peerId: `peer-${i}`,
      weight: 1,
      attesterWeight: 1,
    })),
  };
}

export interface DirectHistoryOptions {
  indexes: number;
  txsPerLaneBlock: number;
  /** Called with each global block, in index order, encoded. */
  write: (index: number, encoded: Uint8Array) => void;
}

/** Signs and encodes global blocks 1..indexes; returns the number of txs. */
export function writeDirectHistory(o: DirectHistoryOptions): { txs: number } {
  const keys = directKeys();
  const committee = new Committee(directGenesis());
  const signers = keys.map((k) => new Signer(k.secretKey, committee.chainId));
  const parents = keys.map(() => ZERO_HASH);
  const encoder = new TextEncoder();
  let txs = 0;
  for (let k = 1; k <= o.indexes; k++) {
    const atMs = GENESIS_MS + k * 100;
    const blocks: LaneBlock[] = signers.map((signer, lane) => {
      const list = Array.from({ length: o.txsPerLaneBlock }, (_, j) => encoder.encode(`d${k}.${lane}.${j}=v${k}`));
      const payload = encodePayload(list);
      txs += list.length;
      const block: LaneBlock = {
        header: {
          lane,
          number: k - 1,
          parent: parents[lane]!,
          payloadHash: payloadHash(payload),
          txCount: list.length,
          createdAtMs: atMs,
        },
        signature: new Uint8Array(64),
        payload,
      };
      block.signature = signer.sign(DOMAINS.laneBlock, laneBlockSigningBody(block));
      parents[lane] = headerHash(block.header);
      return block;
    });
    const proposal: Proposal = {
      view: { index: k, round: 0 },
      createdAtMs: atMs,
      ranges: blocks.map((b) => ({ lane: b.header.lane, first: k - 1, next: k, lastHash: headerHash(b.header) })),
    };
    const unsigned: ProposalQc = { proposal, signers: aggregate([], signers.length).signers, signatures: [] };
    const body = phaseVoteSigningBody(proposalQcVoteBody(unsigned));
    const agg = aggregate(
      signers.map((s, i) => ({ signer: i, signature: s.sign(DOMAINS.commit, body) })),
      signers.length,
    );
    const block: GlobalBlock = {
      index: k,
      commitQc: { proposal, signers: agg.signers, signatures: agg.signatures },
      blocks,
    };
    o.write(k, codecs.globalBlock.encode(block));
  }
  return { txs };
}

/** Writes the history to `file`: each encoded global block prefixed by its u32 big-endian length. */
export function writeDirectHistoryFile(file: string, indexes: number, txsPerLaneBlock: number): { txs: number } {
  const fd = openSync(file, "w");
  try {
    const len = Buffer.alloc(4);
    return writeDirectHistory({
      indexes,
      txsPerLaneBlock,
      write: (_index, encoded) => {
        len.writeUInt32BE(encoded.byteLength);
        writeSync(fd, len);
        writeSync(fd, encoded);
      },
    });
  } finally {
    closeSync(fd);
  }
}

/** The encoded global blocks of a history file, in index order (block k at [k - 1]). */
export function readDirectHistoryFile(file: string): Uint8Array[] {
  const buf = readFileSync(file);
  const out: Uint8Array[] = [];
  for (let at = 0; at < buf.byteLength; ) {
    if (at + 4 > buf.byteLength) throw new Error(`${file}: truncated at byte ${at}`);
    const n = buf.readUInt32BE(at);
    if (at + 4 + n > buf.byteLength) throw new Error(`${file}: truncated block at byte ${at}`);
    out.push(buf.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

/**
 * Stores global blocks (encoded, in index order from the store's tip + 1) in
 * `storage`'s finalized chain only: a source for the sync-server handlers of
 * a peer that pruned everything else (scripts/history catchUpInProcess).
 */
export async function storeGlobalBlocks(storage: Storage, encoded: readonly Uint8Array[]): Promise<void> {
  const CHUNK = 256;
  for (let at = 0; at < encoded.length; at += CHUNK) {
    const ws = new WriteSet();
    for (const bytes of encoded.slice(at, at + CHUNK)) {
      const block = codecs.globalBlock.decode(bytes);
      storage.chain.put(ws, block, [], txHashList(block.blocks));
    }
    const batch = storage.db.batch();
    for (const op of ws.ops) {
      if (op.type === "put") batch.put(op.key, op.value, { sublevel: op.space });
      else batch.del(op.key, { sublevel: op.space });
    }
    await batch.write();
  }
}
