import { z } from "zod";
import {
  CHAIN_ID_PATTERN,
  fromHex,
  MAX_BATCH_INDEXES,
  MAX_BLOCKS_PER_LANE,
  MAX_LANE_BLOCK_BYTES,
  MAX_TX_BYTES,
  MAX_VALIDATORS,
  sha256,
} from "../types/index.ts";

/**
 * Protocol parameters every node must agree on, because validity depends on
 * them (a proposal with too many blocks per lane, a lane block outside the
 * window). They live in genesis, not in each node's config.
 */
export const ProtocolParamsSchema = z
  .object({
    /** Lane blocks of one lane a proposal may finalize. */
    maxBlocksPerLane: z.number().int().min(1).max(MAX_BLOCKS_PER_LANE).default(32),
    /** Unfinalized blocks a lane may run ahead of its finalized tip. */
    laneWindow: z.number().int().min(1).max(4096).default(64),
    /** Largest encoded lane block. */
    maxLaneBlockBytes: z
      .number()
      .int()
      .min(1024)
      .max(MAX_LANE_BLOCK_BYTES)
      .default(1024 * 1024),
    /** Largest transaction. */
    maxTxBytes: z
      .number()
      .int()
      .min(1)
      .max(MAX_TX_BYTES)
      .default(64 * 1024),
    /** Batch attestation (DESIGN section 13): most finalized indexes in one batch. */
    batchMaxIndexes: z.number().int().min(1).max(MAX_BATCH_INDEXES).default(64),
    /**
     * A batch also closes at the first index whose agreed proposal time is
     * this far past the batch's first index's.
     */
    batchMaxMs: z.number().int().min(1).max(86_400_000).default(10_000),
    /**
     * App votes (DESIGN section 7) are signed for every index that is a
     * multiple of this, not for every index: an AppQC is a checkpoint. An
     * app vote costs each node a signature and a broadcast, and n-1 received
     * messages and signature checks, per voted index (the app state write
     * happens at every index either way). The app hash chains every index,
     * so a checkpoint's AppQC covers the indexes before it. At most 64:
     * anchors (and so pruning of lane blocks) happen only at checkpoints, and
     * app votes are taken at most 64 indexes ahead of finality. Optional so
     * that a genesis written before it keeps its hash: absent means every
     * index (1). New genesis files get DEFAULT_PARAMS' 8.
     */
    appVoteEveryIndexes: z.number().int().min(1).max(64).optional(),
  })
  .strict();

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "32 bytes of lowercase hex");

export const GenesisValidatorSchema = z
  .object({
    index: z
      .number()
      .int()
      .min(0)
      .max(MAX_VALIDATORS - 1),
    name: z.string().min(1).max(64),
    publicKey: hex32,
    peerId: z.string().min(1).max(128),
    weight: z.number().int().min(1).max(1_000_000).default(1),
    attesterWeight: z.number().int().min(0).max(1_000_000).default(1),
  })
  .strict();

export const GenesisSchema = z
  .object({
    chainId: z.string().regex(CHAIN_ID_PATTERN, "1-64 characters of a-z, 0-9, '.', '_' or '-'"),
    genesisTimeMs: z.number().int().min(0),
    params: ProtocolParamsSchema.default(ProtocolParamsSchema.parse({})),
    validators: z.array(GenesisValidatorSchema).min(1).max(MAX_VALIDATORS),
  })
  .strict()
  .superRefine((g, ctx) => {
    const seen = { key: new Set<string>(), peer: new Set<string>(), name: new Set<string>() };
    g.validators.forEach((v, i) => {
      if (v.index !== i)
        ctx.addIssue({
          code: "custom",
          path: ["validators", i, "index"],
          message: `must be ${i}: validators are listed in index order`,
        });
      if (seen.key.has(v.publicKey))
        ctx.addIssue({ code: "custom", path: ["validators", i, "publicKey"], message: "duplicate public key" });
      if (seen.peer.has(v.peerId))
        ctx.addIssue({ code: "custom", path: ["validators", i, "peerId"], message: "duplicate peer id" });
      if (seen.name.has(v.name))
        ctx.addIssue({ code: "custom", path: ["validators", i, "name"], message: "duplicate name" });
      seen.key.add(v.publicKey);
      seen.peer.add(v.peerId);
      seen.name.add(v.name);
    });
    if (g.validators.length > 0 && g.validators.every((v) => v.attesterWeight === 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["validators"],
        message: "at least one validator needs an attesterWeight above 0 (batch attestation needs attesters)",
      });
    }
  });

export type ProtocolParams = z.infer<typeof ProtocolParamsSchema>;
export type GenesisValidator = z.infer<typeof GenesisValidatorSchema>;
export type Genesis = z.infer<typeof GenesisSchema>;

/** What a new genesis (init, testnet) gets. */
export const DEFAULT_PARAMS: ProtocolParams = { ...ProtocolParamsSchema.parse({}), appVoteEveryIndexes: 8 };

/** Validates a parsed genesis object; the error lists every problem with its path. */
export function parseGenesis(value: unknown, source = "genesis"): Genesis {
  const result = GenesisSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`).join("\n");
    throw new Error(`invalid ${source}:\n${problems}`);
  }
  return result.data;
}

/** Parses genesis JSON text. */
export function parseGenesisJson(text: string, source = "genesis.json"): Genesis {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  return parseGenesis(value, source);
}

export function genesisPublicKey(v: GenesisValidator): Uint8Array {
  return fromHex(v.publicKey, 32);
}

/**
 * JSON with object keys sorted at every level and no whitespace: the one
 * text of a value, whatever order or spacing its file used.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("canonical JSON has no NaN or Infinity");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/**
 * The genesis hash: sha256 of the canonical JSON of the validated genesis
 * (defaults filled in). Two files that mean the same chain have the same
 * hash however they are formatted; batch commitments and the attestation
 * status name the chain by it.
 */
export function genesisHash(genesis: Genesis): Uint8Array {
  return sha256(new TextEncoder().encode(canonicalJson(genesis)));
}
