/** Genesis, committee, weights, quorums and leader choice. */

export {
  type Check,
  verifyAppQc,
  verifyCommitQc,
  verifyLaneBlock,
  verifyLaneQc,
  verifyPrepareQc,
  verifyTimeoutQc,
} from "./certs.ts";
export { Committee, type Member, quorums } from "./committee.ts";
export {
  DEFAULT_PARAMS,
  type Genesis,
  GenesisSchema,
  type GenesisValidator,
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
