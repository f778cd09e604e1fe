import { fromHex, toHex } from "./bytes.ts";

/** One signed statement: the exact bytes a signature covers (domain aside) and the signature. */
export interface SignedStatement {
  body: Uint8Array;
  signature: Uint8Array;
}

/**
 * Proof of equivocation: one member signed two different statements of one
 * kind for one slot (a lane number, a view, an index) where the protocol
 * allows one. Anyone with the committee's keys can check both signatures.
 */
export interface Evidence {
  /** Kind of signed message, e.g. "prepare" (node/evidence's registry). */
  kind: string;
  /** Committee index of the member that signed both. */
  signer: number;
  /** What it may sign only once, e.g. "view 12/0". */
  slot: string;
  first: SignedStatement;
  second: SignedStatement;
}

/** The JSON form (GET /evidence, storage): bytes as lowercase hex. */
export interface EvidenceJson {
  kind: string;
  signer: number;
  slot: string;
  first: { body: string; signature: string };
  second: { body: string; signature: string };
}

export function evidenceToJson(e: Evidence): EvidenceJson {
  const s = (x: SignedStatement) => ({ body: toHex(x.body), signature: toHex(x.signature) });
  return { kind: e.kind, signer: e.signer, slot: e.slot, first: s(e.first), second: s(e.second) };
}

const HEX = /^(?:[0-9a-f]{2})*$/;
/** Longest statement body kept as evidence (a proposal of a large committee). */
const MAX_STATEMENT_BODY_HEX = 2 * 1024 * 1024;

/** Parses the JSON form; throws on anything malformed. */
export function evidenceFromJson(raw: unknown): Evidence {
  const o = raw as Partial<EvidenceJson> | null;
  if (typeof o !== "object" || o === null) throw new Error("evidence: not an object");
  if (typeof o.kind !== "string" || o.kind.length === 0 || o.kind.length > 32) throw new Error("evidence: bad kind");
  if (!Number.isSafeInteger(o.signer) || (o.signer as number) < 0) throw new Error("evidence: bad signer");
  if (typeof o.slot !== "string" || o.slot.length > 128) throw new Error("evidence: bad slot");
  const st = (x: unknown, name: string): SignedStatement => {
    const v = x as { body?: unknown; signature?: unknown } | null;
    if (typeof v !== "object" || v === null) throw new Error(`evidence: ${name} missing`);
    if (typeof v.body !== "string" || !HEX.test(v.body) || v.body.length > MAX_STATEMENT_BODY_HEX)
      throw new Error(`evidence: ${name}.body is not hex`);
    if (typeof v.signature !== "string" || !/^[0-9a-f]{128}$/.test(v.signature))
      throw new Error(`evidence: ${name}.signature is not 64 bytes of hex`);
    return { body: fromHex(v.body), signature: fromHex(v.signature) };
  };
  return {
    kind: o.kind,
    signer: o.signer as number,
    slot: o.slot,
    first: st(o.first, "first"),
    second: st(o.second, "second"),
  };
}
