/** The running node: event loop, effects, durability hook, API backend (DESIGN section 10). */

export { CatchUp, type CatchUpSink, type CatchUpStats } from "./catch-up.ts";
export { type Durability, DurableReporter, LocalDurability } from "./durability.ts";
export { HomeError, loadNodeHome, type NodeHome } from "./home.ts";
export { type RunningNode, type StartNodeOptions, startNode } from "./node.ts";
export { syncServerFor } from "./sync-server.ts";
export { ViewsSeen } from "./views-seen.ts";
