import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";
import type { ClusterLayout } from "./paths.ts";

/**
 * One node of a cluster: validators node0..node<N-1> and observers
 * observer0.. (the `validator testnet` names), then extra homes added later
 * (observers, or standbys that share a validator's key).
 */
export interface NodeEntry {
  name: string;
  role: "validator" | "observer" | "standby";
  p2pPort: number;
  apiPort: number;
}

/** What a cluster records in <dir>/cluster.json, so later commands (and processes) can find it again. */
export interface ClusterState {
  version: 1;
  chainId: string;
  /** First port of the cluster (node j: p2p base + 2j, API base + 2j + 1). */
  basePort: number;
  /** Ports base .. base + reservedPorts - 1 were free when the cluster was created (room for extra nodes). */
  reservedPorts: number;
  createdAtMs: number;
  /** `--set section.key=value` written into every home at creation (extra homes included). */
  sets: string[];
  nodes: NodeEntry[];
}

export class ClusterError extends Error {
  override name = "ClusterError";
}

const port = z.number().int().min(1).max(65_535);
const stateSchema = z.object({
  version: z.literal(1),
  chainId: z.string().min(1),
  basePort: port,
  reservedPorts: z.number().int().min(2),
  createdAtMs: z.number().int().nonnegative(),
  sets: z.array(z.string()),
  nodes: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
        role: z.enum(["validator", "observer", "standby"]),
        p2pPort: port,
        apiPort: port,
      }),
    )
    .min(1),
});

export function hasState(layout: ClusterLayout): boolean {
  return existsSync(layout.stateFile);
}

export function readState(layout: ClusterLayout): ClusterState {
  if (!existsSync(layout.stateFile)) {
    throw new ClusterError(`no cluster in ${layout.dir}; start one with: npm run devnet -- up`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(layout.stateFile, "utf8"));
  } catch (err) {
    throw new ClusterError(
      `${layout.stateFile} is not valid JSON (${(err as Error).message}); run: npm run devnet -- clean`,
    );
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClusterError(
      `${layout.stateFile} is not a cluster state file (${issue?.path.join(".")}: ${issue?.message}); run: npm run devnet -- clean`,
    );
  }
  return parsed.data;
}

/** Written to a temp file and renamed, so a crash never leaves half a state file. */
export function writeState(layout: ClusterLayout, state: ClusterState): void {
  mkdirSync(layout.dir, { recursive: true });
  const tmp = `${layout.stateFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, layout.stateFile);
}

/** The nodes `validator testnet --validators N --observers M --base-port P` creates, in its port scheme. */
export function plannedNodes(validators: number, observers: number, basePort: number): NodeEntry[] {
  return Array.from({ length: validators + observers }, (_, j) => ({
    name: j < validators ? `node${j}` : `observer${j - validators}`,
    role: j < validators ? ("validator" as const) : ("observer" as const),
    p2pPort: basePort + 2 * j,
    apiPort: basePort + 2 * j + 1,
  }));
}

/**
 * Finds a node by what the user typed: its position in the state ("2"), or
 * its name ("node2", "observer0").
 */
export function findNode(state: ClusterState, which: string): NodeEntry {
  const trimmed = which.trim();
  const byName = state.nodes.find((n) => n.name === trimmed);
  if (byName) return byName;
  if (/^\d+$/.test(trimmed)) {
    const node = state.nodes[Number(trimmed)];
    if (node) return node;
  }
  const names = state.nodes.map((n, i) => `${i} (${n.name})`).join(", ");
  throw new ClusterError(`no node ${JSON.stringify(which)} in this cluster; nodes: ${names}`);
}

/**
 * The next extra node's name and ports: the first slot after the existing
 * nodes in the port scheme; its name counts the nodes of its role
 * (observer1 after observer0; standby0, ...).
 */
export function nextSlot(state: ClusterState, role: "observer" | "standby", name?: string): NodeEntry {
  const j = state.nodes.length;
  const taken = new Set(state.nodes.map((n) => n.name));
  let chosen = name;
  if (chosen === undefined) {
    let k = state.nodes.filter((n) => n.role === role).length;
    while (taken.has(`${role}${k}`)) k++;
    chosen = `${role}${k}`;
  } else if (taken.has(chosen)) {
    throw new ClusterError(`the cluster already has a node named ${chosen}`);
  }
  return { name: chosen, role, p2pPort: state.basePort + 2 * j, apiPort: state.basePort + 2 * j + 1 };
}
