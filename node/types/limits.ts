/**
 * Hard protocol limits. They bound every decoder: a message that exceeds any
 * of them is rejected before it is looked at. Configurable limits (block
 * size, window, blocks per lane) must stay at or below these.
 */

/** Committee members (validator indexes are u16 on the wire). */
export const MAX_VALIDATORS = 256;
/** One transaction. */
export const MAX_TX_BYTES = 128 * 1024;
/** Transactions in one lane block. */
export const MAX_TXS_PER_BLOCK = 65_536;
/** One encoded lane block, header and signature included. */
export const MAX_LANE_BLOCK_BYTES = 4 * 1024 * 1024;
/** Lane blocks of one lane that one proposal may finalize. */
export const MAX_BLOCKS_PER_LANE = 256;
/** Lane blocks in one finalized global block. */
export const MAX_GLOBAL_BLOCK_LANE_BLOCKS = MAX_VALIDATORS * MAX_BLOCKS_PER_LANE;
/** One encoded consensus, vote or certificate message. */
export const MAX_CONSENSUS_MESSAGE_BYTES = 4 * 1024 * 1024;
/** One encoded finalized global block (stored and synced, never gossiped). */
export const MAX_GLOBAL_BLOCK_BYTES = 256 * 1024 * 1024;
/** A chain id: short, printable, no separators that could alias a domain. */
export const CHAIN_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Finalized indexes in one attestation batch (bounds a batch's Merkle tree and proofs). */
export const MAX_BATCH_INDEXES = 4096;
/** Siblings in a batch inclusion proof: ceil(log2(MAX_BATCH_INDEXES)). */
export const MAX_BATCH_PROOF_HASHES = 12;
