import { privateKeyFromRaw, publicKeyFromRaw } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPublicKey } from "@libp2p/peer-id";
import { concatBytes } from "../types/index.ts";
import type { KeyPair } from "./keys.ts";

/**
 * The node key is the libp2p identity (separate from the validator key).
 * Both sides of the mapping live here so that genesis, the CLI and the
 * network host always derive the same peer id from the same key file.
 */
export function libp2pPrivateKey(nodeKey: KeyPair): PrivateKey {
  // libp2p's raw Ed25519 private key is seed || public key.
  return privateKeyFromRaw(concatBytes(nodeKey.secretKey, nodeKey.publicKey));
}

/** Peer id string (12D3Koo...) of an Ed25519 node public key. */
export function peerIdOf(nodePublicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(nodePublicKey)).toString();
}
