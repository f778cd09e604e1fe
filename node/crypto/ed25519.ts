import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { assertChainId, type Domain, signingDigest } from "../types/index.ts";
import { publicKeyOf } from "./keys.ts";

// DER prefixes that wrap a raw 32-byte Ed25519 key as PKCS#8 / SPKI for OpenSSL.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

const MAX_CACHED_PUBLIC_KEYS = 4096;
const publicKeyObjects = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  if (publicKey.byteLength !== 32) return undefined;
  const id = Buffer.from(publicKey).toString("base64");
  let key = publicKeyObjects.get(id);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    } catch {
      return undefined;
    }
    // Creating a KeyObject costs ~15% of a verify: keep a bounded set of them.
    if (publicKeyObjects.size >= MAX_CACHED_PUBLIC_KEYS) {
      const oldest = publicKeyObjects.keys().next().value;
      if (oldest !== undefined) publicKeyObjects.delete(oldest);
    }
    publicKeyObjects.set(id, key);
  }
  return key;
}

/**
 * Signs protocol messages with one validator key on OpenSSL (node:crypto),
 * ~15x faster than pure JS and byte-identical to it (RFC 8032).
 */
export class Signer {
  readonly publicKey: Uint8Array;
  readonly chainId: string;
  readonly #key: KeyObject;

  constructor(secretKey: Uint8Array, chainId: string) {
    if (secretKey.byteLength !== 32) throw new Error("an Ed25519 secret key is 32 bytes");
    assertChainId(chainId);
    this.#key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: "der", type: "pkcs8" });
    this.publicKey = publicKeyOf(secretKey);
    this.chainId = chainId;
  }

  /** Signature over signingDigest(domain, chainId, body). */
  sign(domain: Domain, body: Uint8Array): Uint8Array {
    return signRaw(this.#key, signingDigest(domain, this.chainId, body));
  }
}

function signRaw(key: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, key));
}

/** Verifies a raw Ed25519 signature over `message`. Never throws. */
export function verifyRaw(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.byteLength !== 64) return false;
  const key = publicKeyObject(publicKey);
  if (key === undefined) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Signs a raw message (tests and tools; protocol code uses Signer). */
export function signMessage(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return signRaw(
    createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: "der", type: "pkcs8" }),
    message,
  );
}

export function verifySigned(
  publicKey: Uint8Array,
  domain: Domain,
  chainId: string,
  body: Uint8Array,
  signature: Uint8Array,
): boolean {
  return verifyRaw(publicKey, signingDigest(domain, chainId, body), signature);
}
