/** HTTP API: status, txs, blocks, kv, peers, metrics (fastify). */
export type {
  ApiBackend,
  BlockJson,
  CommitQcJson,
  HealthJson,
  PeerJson,
  StatusJson,
  SubmitResult,
  TxStatusJson,
} from "./backend.ts";
export { type ApiOptions, buildApi } from "./server.ts";
