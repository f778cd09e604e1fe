/** Genesis, committee, weights, quorums and leader choice. */

export {
  type Check,
  verifyAppQc,
  verifyBatchQc,
  verifyBatchVote,
  verifyCommitQc,
  verifyLaneBlock,
  verifyLaneQc,
  verifyPrepareQc,
  verifyTimeoutQc,
} from "./certs.ts";
export { AttesterSet, Committee, type Member, quorums } from "./committee.ts";
export {
  canonicalJson,
  DEFAULT_PARAMS,
  type Genesis,
  GenesisSchema,
  type GenesisValidator,
  genesisHash,
  genesisPublicKey,
  type ProtocolParams,
  ProtocolParamsSchema,
  parseGenesis,
  parseGenesisJson,
} from "./genesis.ts";
export {
  checkLaneChain,
  type KnownHashes,
  laneParent,
  linksToParent,
  rememberOwnSigned,
  SIGNED,
  type SignedCheck,
  type SignedOf,
  type SignedRule,
  verifySigned,
} from "./signed.ts";
