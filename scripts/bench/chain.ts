/**
 * A committee with deterministic keys and signed lane blocks for the
 * benchmarks that run protocol pieces without a cluster (bench-net,
 * bench-storage). Built from node/ only: scripts never import test/.
 */
import { Committee, DEFAULT_PARAMS, type Genesis, type ProtocolParams } from "../../node/committee/index.ts";
import { generateKeyPair, type KeyPair, peerIdOf, Signer } from "../../node/crypto/index.ts";
import {
  DOMAINS,
  encodePayload,
  type LaneBlock,
  laneBlockSigningBody,
  payloadHash,
  toHex,
} from "../../node/types/index.ts";

export interface BenchCommittee {
  committee: Committee;
  chainId: string;
  /** Validator i's key: seed of 32 bytes (i + 1). */
  validatorKeys: KeyPair[];
  /** Validator i's libp2p node key: seed of 32 bytes (200 + i). */
  nodeKeys: KeyPair[];
  signers: Signer[];
}

export function benchCommittee(n: number, chainId: string, params: Partial<ProtocolParams> = {}): BenchCommittee {
  const validatorKeys = Array.from({ length: n }, (_, i) => generateKeyPair(new Uint8Array(32).fill(i + 1)));
  const nodeKeys = Array.from({ length: n }, (_, i) => generateKeyPair(new Uint8Array(32).fill(200 + i)));
  const genesis: Genesis = {
    chainId,
    genesisTimeMs: 0,
    params: { ...DEFAULT_PARAMS, ...params },
    validators: validatorKeys.map((v, i) => ({
      index: i,
      name: `v${i}`,
      publicKey: toHex(v.publicKey),
      peerId: peerIdOf(nodeKeys[i]!.publicKey),
      weight: 1,
      attesterWeight: 1,
    })),
  };
  return {
    committee: new Committee(genesis),
    chainId,
    validatorKeys,
    nodeKeys,
    signers: validatorKeys.map((k) => new Signer(k.secretKey, chainId)),
  };
}

/** Lane block `number` of `lane` over `txs`, signed by the lane owner. */
export function signedLaneBlock(
  signer: Signer,
  lane: number,
  number: number,
  parent: Uint8Array,
  txs: Uint8Array[],
  createdAtMs: number,
): LaneBlock {
  const payload = encodePayload(txs);
  const header = { lane, number, parent, payloadHash: payloadHash(payload), txCount: txs.length, createdAtMs };
  const unsigned: LaneBlock = { header, signature: new Uint8Array(64), payload };
  return { ...unsigned, signature: signer.sign(DOMAINS.laneBlock, laneBlockSigningBody(unsigned)) };
}
