import { z } from "zod";
import {
  CHAIN_ID_PATTERN,
  fromHex,
  MAX_BLOCKS_PER_LANE,
  MAX_LANE_BLOCK_BYTES,
  MAX_TX_BYTES,
  MAX_VALIDATORS,
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
  });

export type ProtocolParams = z.infer<typeof ProtocolParamsSchema>;
export type GenesisValidator = z.infer<typeof GenesisValidatorSchema>;
export type Genesis = z.infer<typeof GenesisSchema>;

export const DEFAULT_PARAMS: ProtocolParams = ProtocolParamsSchema.parse({});

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
