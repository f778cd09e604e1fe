/**
 * node.heapGrowingPercent. After each full collection V8 lets the old
 * generation grow to its live size times a factor before the next one; left
 * to V8, the factor adapts to the collector's speed, up to 4 when the heap
 * limit is 2 GiB or more (4 GiB on the measured 24 GiB host), so under a
 * steady load a node carries far more than its live old generation, and the
 * Buffers that died there (ArrayBuffer memory, which V8 frees only with the
 * objects that hold it) stay allocated until then. `--heap-growing-percent`
 * fixes the factor at 1 + percent / 100, also where V8 would choose a
 * smaller one (near its heap limit, after an idle node's memory-reducing
 * collections). V8 reads it only at start and Node refuses it in
 * NODE_OPTIONS, so `validator start` and `validator dev` re-execute
 * themselves once with it (start-plan.ts; v8-flag.ts holds the rule); the
 * operator's own flag in Node's arguments wins.
 */
import type { V8FlagRun, V8FlagSetting } from "./v8-flag.ts";

export const HEAP_GROWING: V8FlagSetting<"heapGrowingPercent"> = {
  key: "node.heapGrowingPercent",
  flag: "--heap-growing-percent",
  field: "heapGrowingPercent",
};

/** The old generation's growing factor a process runs with (percent over the live size), and where it came from. */
export type HeapGrowingRun = V8FlagRun<"heapGrowingPercent">;
