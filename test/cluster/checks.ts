/**
 * Cross-node checks for the cluster tests: identical finalized blocks on
 * every node, and the vote journal scan for equivocation.
 */
import { readFileSync } from "node:fs";
import type { ClusterNode } from "../../scripts/cluster/index.ts";
import { mapLimit } from "./map-limit.ts";

export interface BlockSummary {
  index: number;
  hash: string;
  appHash: string | null;
  txHashes: string[];
}

/**
 * Blocks from..to of one node. The last is waited for until the node has
 * executed it (ClusterNode.finalBlock); execution goes in order, so the ones
 * before it are there too, and one still missing is an error.
 */
export async function blocksOf(node: ClusterNode, from: number, to: number): Promise<BlockSummary[]> {
  if (to >= from && (await node.finalBlock(to)) === null) throw new Error(`${node.name} has no finalized block ${to}`);
  const indexes = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
  return mapLimit(indexes, 8, async (index) => {
    const b = await node.block(index);
    if (b === null) throw new Error(`${node.name} has no finalized block ${index}`);
    if (b.index !== index) throw new Error(`${node.name} answered block ${b.index} for /blocks/${index}`);
    return { index, hash: b.hash, appHash: b.appHash, txHashes: b.txHashes };
  });
}

/**
 * Compares GET /blocks/:index for from..to across the nodes: returns one
 * line per disagreement on `hash` or `appHash` (empty when all agree), and
 * the first node's blocks.
 */
export async function compareBlocks(
  nodes: readonly ClusterNode[],
  from: number,
  to: number,
): Promise<{ mismatches: string[]; blocks: BlockSummary[] }> {
  const all = await Promise.all(nodes.map((n) => blocksOf(n, from, to)));
  const reference = all[0]!;
  const mismatches: string[] = [];
  for (let n = 1; n < nodes.length; n++) {
    for (let i = 0; i < reference.length; i++) {
      const a = reference[i]!;
      const b = all[n]![i]!;
      if (a.hash !== b.hash || a.appHash !== b.appHash) {
        mismatches.push(
          `index ${a.index}: ${nodes[0]!.name} hash ${a.hash} appHash ${a.appHash}, ` +
            `${nodes[n]!.name} hash ${b.hash} appHash ${b.appHash}`,
        );
      }
      if (a.appHash === null || b.appHash === null) mismatches.push(`index ${a.index}: no appHash on a node`);
    }
  }
  return { mismatches, blocks: reference };
}

// The vote-journal scan lives in scripts/cluster (the chaos runner uses it too).
export { scanVotes, type VoteScan, voteSlot } from "../../scripts/cluster/index.ts";

/** Log lines at level error (50) or fatal (60): a fatal stop (an outbox halt included), an API 500. */
export function errorLines(logFile: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as { level?: unknown };
      if (typeof entry.level === "number" && entry.level >= 50) out.push(line.slice(0, 500));
    } catch {
      // a line cut by kill -9
    }
  }
  return out;
}
