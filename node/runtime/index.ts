/** The running node: event loop, effects, signing guard, API backend (DESIGN section 10). */
export { HomeError, loadNodeHome, type NodeHome } from "./home.ts";
export { type RunningNode, type StartNodeOptions, startNode } from "./node.ts";
