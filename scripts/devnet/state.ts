import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";
import type { DevnetLayout } from "./paths.ts";

/** One node of a devnet: validators node0..node<N-1>, observers observer0.. (the `validator testnet` names). */
export interface NodeEntry {
  name: string;
  role: "validator" | "observer";
  p2pPort: number;
  apiPort: number;
}

/** What `up` records in <dir>/devnet.json; every other command reads it. */
export interface DevnetState {
  version: 1;
  chainId: string;
  /** First port of the cluster (node j: p2p base + 2j, API base + 2j + 1). */
  basePort: number;
  /** Ports base .. base + reservedPorts - 1 were free when `up` chose them (room for joins). */
  reservedPorts: number;
  createdAtMs: number;
  /** `--set section.key=value` given to `up`: written into every home (joins included). */
  sets: string[];
  nodes: NodeEntry[];
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
        name: z.string().regex(/^(node|observer)\d+$/),
        role: z.enum(["validator", "observer"]),
        p2pPort: port,
        apiPort: port,
      }),
    )
    .min(1),
});

export class DevnetError extends Error {
  override name = "DevnetError";
}

export function hasState(layout: DevnetLayout): boolean {
  return existsSync(layout.stateFile);
}

export function readState(layout: DevnetLayout): DevnetState {
  if (!existsSync(layout.stateFile)) {
    throw new DevnetError(`no devnet in ${layout.dir}; start one with: npm run devnet -- up`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(layout.stateFile, "utf8"));
  } catch (err) {
    throw new DevnetError(
      `${layout.stateFile} is not valid JSON (${(err as Error).message}); run: npm run devnet -- clean`,
    );
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DevnetError(
      `${layout.stateFile} is not a devnet state file (${issue?.path.join(".")}: ${issue?.message}); run: npm run devnet -- clean`,
    );
  }
  return parsed.data;
}

/** Written to a temp file and renamed, so a crash never leaves half a state file. */
export function writeState(layout: DevnetLayout, state: DevnetState): void {
  mkdirSync(layout.dir, { recursive: true });
  const tmp = `${layout.stateFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, layout.stateFile);
}

/** The nodes `validator testnet --validators N --base-port P` creates, in its port scheme. */
export function plannedValidators(validators: number, basePort: number): NodeEntry[] {
  return Array.from({ length: validators }, (_, j) => ({
    name: `node${j}`,
    role: "validator" as const,
    p2pPort: basePort + 2 * j,
    apiPort: basePort + 2 * j + 1,
  }));
}

/**
 * Finds a node by what the user typed: its position in the state ("2"), or
 * its name ("node2", "observer0").
 */
export function findNode(state: DevnetState, which: string): NodeEntry {
  const trimmed = which.trim();
  const byName = state.nodes.find((n) => n.name === trimmed);
  if (byName) return byName;
  if (/^\d+$/.test(trimmed)) {
    const node = state.nodes[Number(trimmed)];
    if (node) return node;
  }
  const names = state.nodes.map((n, i) => `${i} (${n.name})`).join(", ");
  throw new DevnetError(`no node ${JSON.stringify(which)} in this devnet; nodes: ${names}`);
}

/** The next observer's name and ports: the first slot after the existing nodes in the port scheme. */
export function nextObserver(state: DevnetState): NodeEntry {
  const observers = state.nodes.filter((n) => n.role === "observer").length;
  const j = state.nodes.length;
  return {
    name: `observer${observers}`,
    role: "observer",
    p2pPort: state.basePort + 2 * j,
    apiPort: state.basePort + 2 * j + 1,
  };
}
