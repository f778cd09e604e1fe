/** Wire types, canonical codecs, hashes and signing domains. */
export {
  bytesEqual,
  concatBytes,
  fromHex,
  isUtf8,
  latin1,
  type Sha256Stream,
  sha256,
  sha256Hex,
  sha256Into,
  sha256Stream,
  toHex,
  ZERO_HASH,
} from "./bytes.ts";
export { Codec, DecodeError } from "./codec.ts";
export { assertChainId, DOMAINS, type Domain, PROTOCOL_VERSION, signingDigest } from "./domains.ts";
export type {
  DurableWrite,
  RecoveredAttestation,
  RecoveredExecuted,
  RecoveredLane,
  RecoveredState,
} from "./durable.ts";
export {
  type Evidence,
  type EvidenceJson,
  evidenceFromJson,
  evidenceToJson,
  type SignedStatement,
} from "./evidence.ts";
export * from "./limits.ts";
export { leafHash, merklePath, merkleRoot, nodeHash, verifyMerklePath } from "./merkle.ts";
export {
  appVoteSigningBody,
  batchCommitmentHash,
  batchVoteSigningBody,
  blockHash,
  type ConsensusMessage,
  codecs,
  compareViews,
  consensusMessageCodec,
  headerHash,
  laneBlockSigningBody,
  laneVoteSigningBody,
  payloadHash,
  phaseVoteSigningBody,
  proposalHash,
  proposalQcVoteBody,
  timeoutVoteSigningBody,
  viewKey,
} from "./messages.ts";
export {
  checkOffsets,
  checkPayload,
  encodePayload,
  forEachTx,
  payloadBytesOf,
  payloadTxCount,
  payloadTxs,
} from "./payload.ts";
export type * from "./schema.ts";
export type { PersistEffect, ResendEffect, SignedKind, SignedMessage } from "./signed.ts";
export {
  knownTxHashes,
  rememberTxHashes,
  TX_HASH_BYTES,
  txHash,
  txHashAt,
  txHashCount,
  txHashHex,
  txHashList,
  txHashListHex,
} from "./tx-hashes.ts";
