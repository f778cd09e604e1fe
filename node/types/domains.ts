import { sha256 } from "./bytes.ts";
import { CHAIN_ID_PATTERN } from "./limits.ts";

/**
 * Signing domains: one per message kind, so that a signature made for one
 * kind can never be replayed as another (a prepare vote is not a commit vote).
 */
export const DOMAINS = {
  laneBlock: "lane_block",
  laneVote: "lane_vote",
  proposal: "proposal",
  prepare: "prepare",
  commit: "commit",
  timeout: "timeout",
  appVote: "app_vote",
  batchVote: "batch_vote",
  haAnnouncement: "ha_announcement",
} as const;

export type Domain = (typeof DOMAINS)[keyof typeof DOMAINS];

/** Version of the wire protocol and signing scheme; part of every signed digest. */
export const PROTOCOL_VERSION = 1;

const PREFIX = new TextEncoder().encode(`validator/v${PROTOCOL_VERSION}/`);
const SEP = new Uint8Array([0]);

export function assertChainId(chainId: string): void {
  if (!CHAIN_ID_PATTERN.test(chainId)) {
    throw new Error(
      `invalid chain id ${JSON.stringify(chainId)}: use 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * The 32 bytes a signature covers: sha256(prefix || domain || 0 || chainId || 0 || body).
 * Neither the domain nor the chain id can contain a NUL, so the framing is
 * unambiguous; the chain id is checked here because that argument depends on it.
 */
export function signingDigest(domain: Domain, chainId: string, body: Uint8Array): Uint8Array {
  assertChainId(chainId);
  const enc = new TextEncoder();
  return sha256(PREFIX, enc.encode(domain), SEP, enc.encode(chainId), SEP, body);
}
