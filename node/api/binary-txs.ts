import type { FastifyInstance } from "fastify";
import { HttpError } from "./http-error.ts";

/**
 * Binary intake for `POST /txs` with `content-type: application/octet-stream`:
 * the body is a sequence of txs, each a u32 big-endian length followed by
 * that many bytes. Same limits as the JSON body: a malformed frame is 400
 * with what is wrong and where; more txs than the per-request limit is 413;
 * a body above the server's body limit is 413 (fastify); a tx above the size
 * limit is 400, as in JSON.
 */

export const BINARY_TXS_CONTENT_TYPE = "application/octet-stream";
const LENGTH_BYTES = 4;

export interface BinaryTxLimits {
  maxTxBytes: number;
  maxTxsPerRequest: number;
}

/** Walks the length prefixes; the txs are views into `body` (no copy). */
export function parseBinaryTxs(body: Uint8Array, limits: BinaryTxLimits): Uint8Array[] {
  if (body.byteLength === 0) throw new HttpError(400, "empty body: expected u32-big-endian-length-prefixed txs");
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const txs: Uint8Array[] = [];
  let at = 0;
  while (at < body.byteLength) {
    const i = txs.length;
    if (i >= limits.maxTxsPerRequest) {
      throw new HttpError(413, `at most ${limits.maxTxsPerRequest} txs per request; the body holds more`);
    }
    if (body.byteLength - at < LENGTH_BYTES) {
      throw new HttpError(
        400,
        `malformed body: tx ${i} at byte ${at} has a truncated length prefix (${body.byteLength - at} of 4 bytes)`,
      );
    }
    const len = view.getUint32(at, false);
    at += LENGTH_BYTES;
    if (len === 0) throw new HttpError(400, `malformed body: tx ${i} at byte ${at - LENGTH_BYTES} is empty`);
    if (len > limits.maxTxBytes) {
      throw new HttpError(400, `tx ${i} is ${len} bytes; the limit is ${limits.maxTxBytes}`);
    }
    if (len > body.byteLength - at) {
      throw new HttpError(
        400,
        `malformed body: tx ${i} declares ${len} bytes but only ${body.byteLength - at} follow at byte ${at}`,
      );
    }
    txs.push(body.subarray(at, at + len));
    at += len;
  }
  return txs;
}

/** Encodes txs as the binary body (the load generator's --binary, tests). */
export function encodeBinaryTxs(txs: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const tx of txs) total += LENGTH_BYTES + tx.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const tx of txs) {
    view.setUint32(at, tx.byteLength, false);
    out.set(tx, at + LENGTH_BYTES);
    at += LENGTH_BYTES + tx.byteLength;
  }
  return out;
}

/** Lets the server take octet-stream bodies as a Buffer (within the server's body limit). */
export function registerBinaryTxsParser(app: FastifyInstance): void {
  app.addContentTypeParser(BINARY_TXS_CONTENT_TYPE, { parseAs: "buffer" }, (_req, body, done) => done(null, body));
}
