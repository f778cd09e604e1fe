/** HTTP API: status, txs, blocks, kv, peers, metrics, the finality event stream (fastify). */
export type {
  ApiBackend,
  AttestationStatusJson,
  BatchJson,
  BatchProofJson,
  BatchProofResult,
  BlockJson,
  CommitQcJson,
  HaStatusJson,
  HealthJson,
  PeerJson,
  StatusJson,
  SubmitResult,
  TxStatusJson,
} from "./backend.ts";
export { BINARY_TXS_CONTENT_TYPE, encodeBinaryTxs, parseBinaryTxs } from "./binary-txs.ts";
export { type ApiLimits, SHED_MIN_INFLIGHT } from "./bounds.ts";
export { EventHub, type EventHubOptions, finalizedFrame, MAX_PENDING_BLOCKS } from "./events.ts";
export { type ApiOptions, buildApi } from "./server.ts";
