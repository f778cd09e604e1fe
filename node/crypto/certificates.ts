import { BitArray } from "@chainsafe/ssz";
import { type Domain, signingDigest } from "../types/index.ts";
import { verifyRaw } from "./ed25519.ts";
import { VerifyCache } from "./verify-cache.ts";

/**
 * What certificate checks need to know of a committee. `committee` implements
 * it; crypto does not import committee (the import order is types, crypto,
 * committee).
 */
export interface MemberKeys {
  readonly size: number;
  publicKey(index: number): Uint8Array | undefined;
  weight(index: number): number;
}

export interface SignedPart {
  signer: number;
  signature: Uint8Array;
}

export interface Aggregate {
  signers: BitArray;
  signatures: Uint8Array[];
}

/**
 * Builds a certificate's signer bitmap and signature list, in signer order.
 * Throws on a duplicate or out-of-range signer: callers aggregate votes they
 * already de-duplicated, so either is a bug.
 */
export function aggregate(parts: SignedPart[], committeeSize: number): Aggregate {
  const sorted = [...parts].sort((a, b) => a.signer - b.signer);
  const signers = BitArray.fromBitLen(committeeSize);
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i]!.signer;
    if (!Number.isInteger(s) || s < 0 || s >= committeeSize) throw new Error(`signer ${s} is not a committee member`);
    if (i > 0 && sorted[i - 1]!.signer === s) throw new Error(`duplicate signer ${s}`);
    signers.set(s, true);
  }
  return { signers, signatures: sorted.map((p) => p.signature) };
}

export type CertCheck = { ok: true; weight: number } | { ok: false; reason: string };

export interface CertificateInput {
  domain: Domain;
  chainId: string;
  signers: BitArray;
  signatures: Uint8Array[];
  /** What each signer signed: one body for all, or per signer (TimeoutQC). */
  body: Uint8Array | ((position: number, signer: number) => Uint8Array);
  /** Minimum total weight of distinct signers. */
  threshold: number;
}

/**
 * Verifies a certificate: the bitmap is sized to the committee (so every
 * signer is a member, and none can appear twice), one signature per signer,
 * every signature valid for its body under the given domain, and the signers'
 * weight reaches the threshold.
 */
export function verifyCertificate(members: MemberKeys, cert: CertificateInput, cache?: VerifyCache): CertCheck {
  if (cert.signers.bitLen !== members.size) {
    return { ok: false, reason: `signer bitmap has ${cert.signers.bitLen} bits for a committee of ${members.size}` };
  }
  const indexes = cert.signers.getTrueBitIndexes();
  if (indexes.length !== cert.signatures.length) {
    return { ok: false, reason: `${indexes.length} signers but ${cert.signatures.length} signatures` };
  }
  let weight = 0;
  for (const signer of indexes) weight += members.weight(signer);
  if (weight < cert.threshold) {
    return { ok: false, reason: `signers' weight ${weight} is below the threshold ${cert.threshold}` };
  }
  const sharedDigest =
    cert.body instanceof Uint8Array ? signingDigest(cert.domain, cert.chainId, cert.body) : undefined;
  for (let pos = 0; pos < indexes.length; pos++) {
    const signer = indexes[pos]!;
    const publicKey = members.publicKey(signer);
    if (publicKey === undefined || members.weight(signer) <= 0) {
      return { ok: false, reason: `signer ${signer} is not a committee member` };
    }
    const digest =
      sharedDigest ??
      signingDigest(cert.domain, cert.chainId, (cert.body as (p: number, s: number) => Uint8Array)(pos, signer));
    if (!checkSignature(publicKey, digest, cert.signatures[pos]!, cache)) {
      return { ok: false, reason: `invalid ${cert.domain} signature from signer ${signer}` };
    }
  }
  return { ok: true, weight };
}

/** One signature check through the cache. */
export function checkSignature(
  publicKey: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
  cache?: VerifyCache,
): boolean {
  if (cache === undefined) return verifyRaw(publicKey, digest, signature);
  const key = VerifyCache.key(publicKey, digest, signature);
  if (cache.has(key)) return true;
  const ok = verifyRaw(publicKey, digest, signature);
  if (ok) cache.add(key);
  return ok;
}

/**
 * Records a signature this node made itself as verified, so that it costs a
 * cache lookup when it comes back (inside a certificate, or fed back to the
 * machines). Only for the node's own signatures: nothing is checked.
 */
export function rememberOwnSignature(
  members: MemberKeys,
  signer: number,
  domain: Domain,
  chainId: string,
  body: Uint8Array,
  signature: Uint8Array,
  cache: VerifyCache,
): void {
  const publicKey = members.publicKey(signer);
  if (publicKey !== undefined) cache.add(VerifyCache.key(publicKey, signingDigest(domain, chainId, body), signature));
}

/** Verifies one member's signed message (a vote, a block, a proposal). */
export function verifyMemberSignature(
  members: MemberKeys,
  signer: number,
  domain: Domain,
  chainId: string,
  body: Uint8Array,
  signature: Uint8Array,
  cache?: VerifyCache,
): boolean {
  const publicKey = members.publicKey(signer);
  if (publicKey === undefined) return false;
  return checkSignature(publicKey, signingDigest(domain, chainId, body), signature, cache);
}
