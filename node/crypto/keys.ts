import { ed25519 } from "@noble/curves/ed25519.js";

/** An Ed25519 key pair: 32-byte secret seed and 32-byte public key. */
export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** Fresh key pair from the OS random source (via @noble/curves). */
export function generateKeyPair(seed?: Uint8Array): KeyPair {
  const { secretKey, publicKey } = ed25519.keygen(seed ? Uint8Array.from(seed) : undefined);
  return { secretKey, publicKey };
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

/** Reference (pure JS) signing and verification, used to cross-check node:crypto. */
export const reference = {
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    return ed25519.sign(message, secretKey);
  },
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    try {
      return ed25519.verify(signature, message, publicKey);
    } catch {
      return false;
    }
  },
};
