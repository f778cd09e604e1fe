/** The running node: event loop, effects, durability hook, API backend (DESIGN section 10). */
export { type Durability, DurableReporter, LocalDurability } from "./durability.ts";
export { HomeError, loadNodeHome, type NodeHome } from "./home.ts";
export { type RunningNode, type StartNodeOptions, startNode } from "./node.ts";
