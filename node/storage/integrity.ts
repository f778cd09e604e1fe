import type { Committee } from "../committee/index.ts";
import {
  bytesEqual,
  type CommitQc,
  codecs,
  type GlobalBlock,
  headerHash,
  payloadHash,
  payloadTxCount,
  TX_HASH_BYTES,
  toHex,
  txHashAt,
  txHashList,
  ZERO_HASH,
} from "../types/index.ts";
import { resyncCommand, StorageIntegrityError } from "./errors.ts";
import { rangeName } from "./keys.ts";
import type { Storage } from "./storage.ts";

export interface ChainCheckReport {
  /** Stored global blocks 1..tip (keys). */
  blocks: number;
  /** Blocks decoded and checked in depth: hash links, lane chains, tx index. */
  deepBlocks: number;
  /** Bytes of blocks read in depth. */
  deepBytes: number;
  /** Stored app hashes (keys), hashFirst..executed. */
  appHashes: number;
}

function damaged(keyRange: string, problem: string, lost: string): StorageIntegrityError {
  return new StorageIntegrityError({ path: "the database", keyRange, problem, lost, remedy: resyncCommand() });
}

/**
 * The chain data's structure, below the anchor too (DESIGN section 8):
 * - `chain/block` holds exactly first..tip, where first is the retention
 *   start (`meta/chain-first`, 1 until storage.retainIndexes pruned
 *   anything), tip within the finalized index and not below the executed index;
 * - `app/hash` holds exactly s..executed for some s at or below the
 *   retention start (retention prunes it with the blocks), its last entry is
 *   `app/state`'s hash, and the anchor's AppQC certifies the hash stored at
 *   its index (unless retention pruned it);
 * - the blocks `deepFrom..tip` in depth (checkBlocks).
 * A missing record (LevelDB dropped it) or one that does not link becomes a
 * StorageIntegrityError naming the key range and what was lost.
 */
export async function checkChainData(
  storage: Storage,
  committee: Committee,
  finalizedIndex: number,
  deepFrom: number,
): Promise<ChainCheckReport> {
  const tip = storage.chain.tip;
  const executed = storage.app.executedIndex;
  const first = storage.chain.first;
  const blocks = await contiguous("chain/block", storage.chain.indexes(), tip, "finalized global blocks", first);
  if (tip > finalizedIndex) {
    throw damaged(
      rangeName("chain/block", finalizedIndex + 1, tip),
      `global blocks beyond the finalized index ${finalizedIndex}`,
      "the CommitQCs that finalized them",
    );
  }
  if (executed > tip) {
    throw damaged(
      rangeName("chain/block", tip + 1, executed),
      `the app state is executed up to ${executed} but global blocks end at ${tip}`,
      `finalized global blocks ${tip + 1}..${executed} (their blocks and tx index)`,
    );
  }
  // App hashes are pruned with the blocks: they start at or below the
  // retention start (below it: kept from before retention covered them).
  const hashesFrom = storage.app.hashFirst;
  if (executed >= first && hashesFrom > first) {
    const missingTo = Math.min(hashesFrom - 1, executed);
    throw damaged(
      rangeName("app/hash", first, missingTo),
      `app hashes ${first}..${missingTo} are missing (the chain store holds blocks from ${first})`,
      `app hashes ${first}..${missingTo}`,
    );
  }
  const appHashes = await contiguous("app/hash", storage.app.hashIndexes(), executed, "app hashes", hashesFrom);
  if (executed > 0) {
    const last = await storage.app.hashAt(executed);
    if (last === undefined || !bytesEqual(last, storage.app.appHash)) {
      throw damaged(
        `app/state, app/hash/${executed}`,
        `app/state says executed ${executed} with hash ${toHex(storage.app.appHash).slice(0, 16)}, app/hash/${executed} holds ${last ? toHex(last).slice(0, 16) : "nothing"}`,
        "the app state written with one of them",
      );
    }
  }
  const anchor = storage.anchor.current;
  if (anchor !== null && anchor.appQc.body.index <= executed && anchor.appQc.body.index >= hashesFrom) {
    const k = anchor.appQc.body.index;
    const held = await storage.app.hashAt(k);
    if (held === undefined || !bytesEqual(held, anchor.appQc.body.appHash)) {
      throw damaged(
        `app/hash/${k}, meta/anchor`,
        `the anchor's AppQC certifies app hash ${toHex(anchor.appQc.body.appHash).slice(0, 16)} at ${k}, app/hash/${k} holds ${held ? toHex(held).slice(0, 16) : "nothing"}`,
        `the app state at index ${k} as the network agreed it`,
      );
    }
  }
  const deep = await checkBlocks(storage, committee, Math.max(first, deepFrom), tip);
  return { blocks, deepBlocks: deep.blocks, deepBytes: deep.bytes, appHashes };
}

/**
 * Global blocks from..to in depth: each decodes and is the block of its
 * key; CommitQC(k)'s ranges start where CommitQC(k-1)'s ended and match the
 * CommitQC WAL where it still holds k; each lane range is the chain of
 * `next - first` blocks ending at its certified lastHash, each with its
 * payload hash; every tx is in the tx index (executed ones in `chain/tx` at
 * this or a later index, those of a voided range in `chain/void` or
 * `chain/tx`). Used at start (newest blocks) and by the scrub (all, in slices).
 *
 * `rehashTxs`: also recompute every tx hash and compare the stored hash list
 * with them (what a software fault could get wrong). The scrub leaves it off:
 * it looks for damage, and a damaged list is a missing record or a table
 * block whose checksum fails, both found without it, at about half the CPU.
 *
 * `txIndexSample`: look up only that window of each block's executed txs in
 * the tx index, not all of them (the scrub; see TxIndexSample).
 */
export async function checkBlocks(
  storage: Storage,
  committee: Committee,
  from: number,
  to: number,
  opts: { rehashTxs: boolean; txIndexSample?: TxIndexSample } = { rehashTxs: true },
): Promise<{ blocks: number; bytes: number }> {
  let blocks = 0;
  let bytes = 0;
  if (from > to) return { blocks, bytes };
  // The block before `from` gives the links; at the retention start there is none to check against.
  let prev: CommitQc | null | "pruned" = null;
  if (from > 1 && from <= storage.chain.first) prev = "pruned";
  else if (from > 1) {
    const before = await readBlock(storage, from - 1);
    prev = before.commitQc;
  }
  let expected = from;
  for await (const raw of storage.chain.rawBlocks(from, to)) {
    if (raw.index !== expected) {
      throw damaged(
        rangeName("chain/block", expected, (raw.index ?? to + 1) - 1),
        `global block ${expected} is missing`,
        `finalized global blocks from ${expected} (their lane blocks and tx index)`,
      );
    }
    const block = decodeBlock(expected, raw.bytes);
    await checkBlock(storage, committee, block, prev, opts);
    prev = block.commitQc;
    bytes += raw.bytes.byteLength;
    blocks++;
    expected++;
  }
  if (expected <= to) {
    throw damaged(
      rangeName("chain/block", expected, to),
      `global blocks ${expected}..${to} are missing`,
      `finalized global blocks ${expected}..${to}`,
    );
  }
  return { blocks, bytes };
}

async function readBlock(storage: Storage, index: number): Promise<GlobalBlock> {
  for await (const raw of storage.chain.rawBlocks(index, index)) {
    if (raw.index === index) return decodeBlock(index, raw.bytes);
  }
  throw damaged(`chain/block/${index}`, `global block ${index} is missing`, `finalized global block ${index}`);
}

function decodeBlock(index: number, bytes: Uint8Array): GlobalBlock {
  let block: GlobalBlock;
  try {
    block = codecs.globalBlock.decode(bytes);
  } catch (err) {
    throw damaged(
      `chain/block/${index}`,
      `the stored block does not decode (${(err as Error).message})`,
      `finalized global block ${index}`,
    );
  }
  if (block.index !== index || block.commitQc.proposal.view.index !== index) {
    throw damaged(
      `chain/block/${index}`,
      `holds block ${block.index} with CommitQC(${block.commitQc.proposal.view.index})`,
      `finalized global block ${index}`,
    );
  }
  return block;
}

async function checkBlock(
  storage: Storage,
  committee: Committee,
  block: GlobalBlock,
  prev: CommitQc | null | "pruned",
  opts: { rehashTxs: boolean; txIndexSample?: TxIndexSample },
): Promise<void> {
  const { rehashTxs } = opts;
  const k = block.index;
  const key = `chain/block/${k}`;
  const qc = block.commitQc;
  const ranges = qc.proposal.ranges;
  if (ranges.length !== committee.size) {
    throw damaged(key, `${ranges.length} lane ranges for a committee of ${committee.size}`, `global block ${k}`);
  }
  const held = await storage.commitQcs.wal.get(k).catch(() => undefined);
  if (held !== undefined && !codecs.proposalQc.equals(held, qc)) {
    throw damaged(`${key}, cqc/${k}`, "the block's CommitQC differs from the CommitQC WAL's", `global block ${k}`);
  }
  // Lane blocks are stored in range order: lane by lane, numbers ascending.
  let at = 0;
  const voidLanes = new Set<number>();
  // At the retention start the previous block is pruned: its links are not
  // checked, and whether a range was voided is not known (either index record will do).
  const pruned = prev === "pruned";
  const unknownLanes = new Set<number>();
  for (const r of ranges) {
    const before = prev === "pruned" ? undefined : prev?.proposal.ranges[r.lane];
    // prev is null only for block 1, whose lanes start at 0 from the zero hash.
    const tipNext = before?.next ?? 0;
    const tipHash = before?.lastHash ?? ZERO_HASH;
    if (pruned) unknownLanes.add(r.lane);
    if (!pruned && r.first !== tipNext) {
      throw damaged(
        `${key}, chain/block/${k - 1}`,
        `lane ${r.lane} range starts at ${r.first}, the previous block's ended at ${tipNext} (the chain does not link)`,
        `global blocks ${k - 1}..${k} as finalized`,
      );
    }
    const count = r.next - r.first;
    const chain = block.blocks.slice(at, at + count);
    at += count;
    if (chain.length !== count) {
      throw damaged(key, `lane ${r.lane}: ${chain.length} blocks for a range of ${count}`, `global block ${k}`);
    }
    let expected = r.lastHash;
    for (let i = chain.length - 1; i >= 0; i--) {
      const lb = chain[i]!;
      const h = lb.header;
      if (h.lane !== r.lane || h.number !== r.first + i || !bytesEqual(headerHash(h), expected)) {
        throw damaged(
          key,
          `lane ${r.lane} block ${r.first + i} is not the certified one (hash chain broken)`,
          `global block ${k}`,
        );
      }
      if (!bytesEqual(payloadHash(lb.payload), h.payloadHash)) {
        throw damaged(key, `lane ${r.lane} block ${h.number}: txs do not match the payload hash`, `global block ${k}`);
      }
      expected = h.parent;
    }
    if (!pruned && count > 0 && !bytesEqual(expected, tipHash)) voidLanes.add(r.lane);
    if (!pruned && count === 0 && !bytesEqual(r.lastHash, tipHash)) {
      throw damaged(key, `lane ${r.lane}: an empty range that does not repeat the tip hash`, `global block ${k}`);
    }
  }
  if (at !== block.blocks.length) {
    throw damaged(key, `${block.blocks.length} lane blocks, the ranges name ${at}`, `global block ${k}`);
  }
  // The tx index: the block's hash list as stored holds one hash per tx
  // (equal to its tx's hash, when rehashTxs), and every executed tx has its
  // lookup key (a voided one its void record).
  const listDamaged = (problem: string) =>
    damaged(
      `chain/txs/${k}`,
      problem,
      `the tx index of global block ${k} (GET /blocks and GET /txs answer wrongly for its txs)`,
    );
  const expected = await storage.chain.txHashes(k);
  if (expected === undefined) throw listDamaged(`the tx hash list of global block ${k} is missing`);
  const txCount = block.blocks.reduce((n, lb) => n + payloadTxCount(lb.payload), 0);
  if (expected.byteLength !== txCount * TX_HASH_BYTES) {
    throw listDamaged(
      `the tx hash list of global block ${k} holds ${expected.byteLength / TX_HASH_BYTES} hashes for ${txCount} txs`,
    );
  }
  if (rehashTxs && !bytesEqual(expected, txHashList(block.blocks))) {
    throw listDamaged(`the tx hash list of global block ${k} does not match its txs`);
  }
  const executed: number[] = [];
  let position = 0;
  for (const lb of block.blocks) {
    const maybeVoided = voidLanes.has(lb.header.lane) || unknownLanes.has(lb.header.lane);
    const count = payloadTxCount(lb.payload);
    for (let i = 0; i < count; i++, position++) {
      if (!maybeVoided) {
        executed.push(position);
        continue;
      }
      // A voided range's tx (rare): its void record, or an executed occurrence elsewhere.
      const hash = txHashAt(expected, position);
      if ((await storage.chain.voidedTxLocation(hash)) !== undefined) continue;
      if ((await storage.chain.txLocation(hash)) !== undefined) continue;
      throw missingFromIndex("void", hash, k);
    }
  }
  // Executed txs: each lookup key names a position holding the same hash, at
  // or before its own (a tx twice in a block is indexed at its first).
  const looked = txIndexWindow(executed, opts.txIndexSample);
  // The scrub (a sample) seeks; the one-off start-up check reads points, the cheapest.
  const by = opts.txIndexSample === undefined ? "points" : "seeks";
  const found = await storage.chain.lookupPositions(k, expected, looked, by);
  for (const [i, p] of looked.entries()) {
    const q = found[i];
    const hash = txHashAt(expected, p);
    if (q === undefined || q > p || !bytesEqual(txHashAt(expected, q), hash)) throw missingFromIndex("txk", hash, k);
  }
}

/**
 * Which of a block's executed txs a check looks up in the tx index, when it
 * does not look up all: `keysPerBlock` consecutive ones (wrapping around),
 * starting `pass · keysPerBlock` in, so that consecutive passes look at
 * consecutive windows and any ceil(n / keysPerBlock) passes in a row cover
 * all n. A check with a sample looks its keys up by iterator seeks, not
 * point reads (ChainStore.lookupPositions says why), about three times the
 * CPU per key: looking up every tx, a scrub would do thousands a second.
 */
export interface TxIndexSample {
  keysPerBlock: number;
  pass: number;
}

/** The positions of `executed` a check looks up (all of them without a sample). */
export function txIndexWindow(executed: readonly number[], sample: TxIndexSample | undefined): number[] {
  const n = executed.length;
  if (sample === undefined || n <= sample.keysPerBlock) return [...executed];
  const start = (((sample.pass * sample.keysPerBlock) % n) + n) % n;
  const out: number[] = [];
  for (let j = 0; j < sample.keysPerBlock; j++) out.push(executed[(start + j) % n]!);
  return out;
}

function missingFromIndex(space: "txk" | "void", hash: Uint8Array, k: number): StorageIntegrityError {
  const id = toHex(hash).slice(0, 16);
  return damaged(
    `chain/${space}/${id}`,
    `tx ${id} of global block ${k} is missing from the tx index`,
    `the tx index of global block ${k} (GET /txs answers "unknown" for its txs)`,
  );
}

/** Keys of a dense index space must be exactly 1..last. */
async function contiguous(
  space: string,
  keys: AsyncIterable<number | null>,
  last: number,
  what: string,
  first = 1,
): Promise<number> {
  let expected = first;
  for await (const index of keys) {
    if (index === null) throw damaged(`${space}/*`, "a key is not an 8-byte index", `a record of ${space}`);
    if (index !== expected) {
      const missingTo = Math.min(index, last + 1) - 1;
      if (index > expected && expected <= last) {
        throw damaged(
          rangeName(space, expected, missingTo),
          `${what} ${expected}..${missingTo} are missing (the records around them exist)`,
          `${what} ${expected}..${missingTo}`,
        );
      }
      throw damaged(
        `${space}/${index}`,
        `${what}: unexpected entry ${index} (expected ${expected})`,
        `a record of ${space}`,
      );
    }
    expected++;
  }
  if (expected <= last) {
    throw damaged(
      rangeName(space, expected, last),
      `${what} ${expected}..${last} are missing`,
      `${what} ${expected}..${last}`,
    );
  }
  return expected - first;
}
