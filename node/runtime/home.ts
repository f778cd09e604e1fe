import { existsSync, readFileSync, statSync } from "node:fs";
import { Committee, type Genesis, parseGenesisJson } from "../committee/index.ts";
import { type Config, type HomePaths, homePaths, loadConfig, type Override } from "../config/index.ts";
import { type KeyPair, peerIdOf, readKeyFile } from "../crypto/index.ts";
import { toHex } from "../types/index.ts";

/** Everything a node needs from its home directory, checked for consistency. */
export interface NodeHome {
  paths: HomePaths;
  config: Config;
  genesis: Genesis;
  /** sha256 (hex) of the parsed genesis: the database records it at creation. */
  genesisHash: string;
  committee: Committee;
  nodeKey: KeyPair;
  peerId: string;
  /** null for an observer. */
  validatorKey: KeyPair | null;
  /** Committee index of the validator key; null for an observer. */
  validatorIndex: number | null;
}

export class HomeError extends Error {
  override name = "HomeError";
}

/**
 * Loads config (defaults < file < env < overrides), genesis and keys, and
 * checks that they fit together: the validator key is in the committee, the
 * node key is the peer id genesis lists for it (unless [ha] is on), and the local block size fits
 * the chain's limit. Each failure says what to fix.
 */
export function loadNodeHome(opts: {
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  overrides?: readonly Override[];
}): NodeHome {
  const { home } = opts;
  if (!existsSync(home) || !statSync(home).isDirectory()) {
    throw new HomeError(`no node home at ${home}; create one with: validator init --home ${home}`);
  }
  const config = loadConfig({ home, env: opts.env, overrides: opts.overrides ?? [] });
  const paths = homePaths(home, config);
  if (!existsSync(paths.genesisFile)) throw new HomeError(`no genesis file at ${paths.genesisFile}`);
  const genesis = parseGenesisJson(readFileSync(paths.genesisFile, "utf8"), paths.genesisFile);
  const committee = new Committee(genesis);
  const nodeKey = readKeyFile(paths.nodeKeyFile);
  const peerId = peerIdOf(nodeKey.publicKey);

  let validatorKey: KeyPair | null = null;
  let validatorIndex: number | null = null;
  if (paths.validatorKeyFile !== undefined) {
    validatorKey = readKeyFile(paths.validatorKeyFile);
    const index = committee.indexOfPublicKey(validatorKey.publicKey);
    if (index === undefined) {
      throw new HomeError(
        `the validator key ${toHex(validatorKey.publicKey)} (${paths.validatorKeyFile}) is not in the genesis committee; ` +
          "to run as an observer, set node.validatorKeyFile to an empty string",
      );
    }
    const listed = committee.member(index)!.peerId;
    // In the HA mode each instance of the validator has its own node key;
    // peers learn the active one from its signed announcement.
    if (listed !== peerId && !config.ha.enabled) {
      throw new HomeError(
        `genesis lists peer id ${listed} for validator ${index}, but the node key ${paths.nodeKeyFile} gives ${peerId}`,
      );
    }
    validatorIndex = index;
  }
  if (config.lanes.maxBlockBytes > genesis.params.maxLaneBlockBytes) {
    throw new HomeError(
      `lanes.maxBlockBytes = ${config.lanes.maxBlockBytes} exceeds the chain's params.maxLaneBlockBytes = ${genesis.params.maxLaneBlockBytes}`,
    );
  }
  // One genesis hash for the whole node (committee/genesis.ts): recorded in the
  // database, and named in batch commitments and the attestation status.
  const genesisHash = toHex(committee.genesisHash);
  return { paths, config, genesis, genesisHash, committee, nodeKey, peerId, validatorKey, validatorIndex };
}
