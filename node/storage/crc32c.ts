/**
 * CRC-32C (Castagnoli), the checksum LevelDB puts on every log record and
 * table block, and LevelDB's "masked" form of it. Slice-by-8 tables: fast
 * enough to check a whole database at start (see README). Little-endian
 * hosts only, as Node on x64 and arm64 is.
 */
const POLY = 0x82f63b78;
const TABLES: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[0]![i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) t[s]![i] = (t[s - 1]![i]! >>> 8) ^ t[0]![t[s - 1]![i]! & 0xff]!;
  }
  return t;
})();

/** crc32c of `bytes`, continuing from `crc` (0 to start). */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  const t0 = TABLES[0]!;
  const t1 = TABLES[1]!;
  const t2 = TABLES[2]!;
  const t3 = TABLES[3]!;
  const t4 = TABLES[4]!;
  const t5 = TABLES[5]!;
  const t6 = TABLES[6]!;
  const t7 = TABLES[7]!;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  // Bytes up to a 4-byte boundary, then 8 at a time as two little-endian words.
  while (i < n && (bytes.byteOffset + i) % 4 !== 0) c = t0[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8);
  const words = Math.floor((n - i) / 8) * 2;
  if (words > 0) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let j = 0; j < words; j += 2) {
      const a = c ^ w[j]!;
      const b = w[j + 1]!;
      c =
        t7[a & 0xff]! ^
        t6[(a >>> 8) & 0xff]! ^
        t5[(a >>> 16) & 0xff]! ^
        t4[a >>> 24]! ^
        t3[b & 0xff]! ^
        t2[(b >>> 8) & 0xff]! ^
        t1[(b >>> 16) & 0xff]! ^
        t0[b >>> 24]!;
    }
    i += words * 4;
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const MASK_DELTA = 0xa282ead8;

/** LevelDB stores crc32c values masked (rotated and offset). */
export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
