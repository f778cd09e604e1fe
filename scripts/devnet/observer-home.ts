import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseGenesisJson } from "../../node/committee/index.ts";
import { homePaths, loadConfig, type Override, parseSetFlags, renderConfig } from "../../node/config/index.ts";
import { generateKeyPair, peerIdOf, writeKeyFile } from "../../node/crypto/index.ts";
import { DevnetError, type NodeEntry } from "./state.ts";

export interface ObserverHomeSpec {
  home: string;
  node: NodeEntry;
  /** genesis.json of the running cluster (copied byte for byte). */
  genesisFile: string;
  /** The cluster's validators, in committee order, with their p2p ports. */
  validatorP2pPorts: readonly number[];
  /** `--set` overrides given to `up`. */
  sets: readonly string[];
}

/**
 * Writes the home of an extra observer: a fresh node key, the cluster's
 * genesis, and a config that listens on the observer's ports and dials every
 * validator (peer ids from genesis). The same layout as an observer made by
 * `validator testnet`, built from node/config and node/crypto; the validators
 * do not need to know it: it dials them, follows gossip and syncs.
 */
export function writeObserverHome(spec: ObserverHomeSpec): { peerId: string } {
  const { home, node } = spec;
  if (existsSync(home)) throw new DevnetError(`${home} already exists; refusing to overwrite it`);
  const genesis = parseGenesisJson(readFileSync(spec.genesisFile, "utf8"), spec.genesisFile);
  if (genesis.validators.length !== spec.validatorP2pPorts.length) {
    throw new DevnetError(
      `genesis lists ${genesis.validators.length} validators but the devnet state has ${spec.validatorP2pPorts.length}`,
    );
  }
  const peers = genesis.validators.map((v, i) => `/ip4/127.0.0.1/tcp/${spec.validatorP2pPorts[i]}/p2p/${v.peerId}`);
  const wiring: Override[] = [
    { key: "node.moniker", value: node.name, source: "devnet join" },
    { key: "node.validatorKeyFile", value: "", source: "devnet join (observer)" },
    { key: "p2p.listen", value: [`/ip4/127.0.0.1/tcp/${node.p2pPort}`], source: "devnet join" },
    { key: "p2p.peers", value: peers, source: "devnet join" },
    { key: "api.host", value: "127.0.0.1", source: "devnet join" },
    { key: "api.port", value: node.apiPort, source: "devnet join" },
    // node0 is the attestation main node; its API port is its p2p port + 1 (the testnet scheme).
    {
      key: "attestation.mainNodeUrl",
      value: `http://127.0.0.1:${spec.validatorP2pPorts[0]! + 1}`,
      source: "devnet join",
    },
  ];
  const config = loadConfig({ home, file: null, overrides: [...parseSetFlags(spec.sets), ...wiring] });
  const paths = homePaths(home, config);
  const nodeKey = generateKeyPair();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeKeyFile(paths.nodeKeyFile, nodeKey);
  copyFileSync(spec.genesisFile, paths.genesisFile);
  // config.toml last: a home with a config file is complete.
  writeFileSync(paths.configFile, renderConfig(config), { mode: 0o644 });
  return { peerId: peerIdOf(nodeKey.publicKey) };
}
