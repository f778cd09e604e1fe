/** One node's protocol: lanes + consensus + execution wired together, pure (sans-IO). */
export { protocolConfig } from "./config.ts";
export { ProtocolNode, type ProtocolNodeOptions } from "./node.ts";
export {
  DurableRecord,
  Outbox,
  type OutboxEvent,
  type OutboxPersist,
  type WriteId,
  type WriteOwner,
} from "./outbox.ts";
export type { NodeEffect, NodeInput, ProtocolConfig, TimerName } from "./types.ts";
