/** HTTP API: status, txs, blocks, kv, peers, metrics (fastify). */
export type {
  ApiBackend,
  AttestationStatusJson,
  BatchJson,
  BatchProofJson,
  BatchProofResult,
  BlockJson,
  CommitQcJson,
  HealthJson,
  PeerJson,
  StatusJson,
  SubmitResult,
  TxStatusJson,
} from "./backend.ts";
export type { ApiLimits } from "./bounds.ts";
export { type ApiOptions, buildApi } from "./server.ts";
