import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseGenesisJson } from "../../node/committee/index.ts";
import { homePaths, loadConfig, type Override, parseSetFlags, renderConfig } from "../../node/config/index.ts";
import { generateKeyPair, peerIdOf, writeKeyFile } from "../../node/crypto/index.ts";
import { REPO_ROOT, VALIDATOR_MAIN } from "./paths.ts";
import { nodeEnv } from "./process.ts";
import { ClusterError, type NodeEntry } from "./state.ts";

export interface TestnetSpec {
  /** Directory that receives one home per node (`validator testnet --out`). */
  out: string;
  validators: number;
  observers: number;
  basePort: number;
  chainId: string;
  /** `--set section.key=value` written into every home. */
  sets: readonly string[];
  /** Genesis batch params (batch attestation). */
  batchMaxIndexes?: number;
  batchMaxMs?: number;
}

/** The homes of a new cluster, made by the real CLI: `validator testnet` (its port scheme is state.ts plannedNodes). */
export function createTestnetHomes(spec: TestnetSpec): string {
  const args = [
    VALIDATOR_MAIN,
    "testnet",
    "--validators",
    String(spec.validators),
    "--observers",
    String(spec.observers),
    "--out",
    spec.out,
    "--base-port",
    String(spec.basePort),
    "--chain-id",
    spec.chainId,
    ...spec.sets.flatMap((s) => ["--set", s]),
    ...(spec.batchMaxIndexes !== undefined ? ["--batch-max-indexes", String(spec.batchMaxIndexes)] : []),
    ...(spec.batchMaxMs !== undefined ? ["--batch-max-ms", String(spec.batchMaxMs)] : []),
  ];
  const res = spawnSync(process.execPath, args, { cwd: REPO_ROOT, env: nodeEnv(), encoding: "utf8", timeout: 60_000 });
  if (res.status !== 0) {
    throw new ClusterError(`validator testnet failed (exit ${res.status}): ${(res.stderr || res.stdout).trim()}`);
  }
  return res.stdout;
}

export interface ExtraHomeSpec {
  home: string;
  node: NodeEntry;
  /** genesis.json of the running cluster (copied byte for byte). */
  genesisFile: string;
  /** The cluster's validators, in committee order, with their p2p ports. */
  validatorP2pPorts: readonly number[];
  /** `--set` overrides: the cluster's, then this home's own. */
  sets: readonly string[];
  /** A standby: this validator key file is copied into the home (it signs as that validator). */
  validatorKeyFile?: string;
}

/**
 * Writes the home of an extra node: a fresh node key, the cluster's genesis,
 * and a config that listens on the node's ports and dials every validator
 * (peer ids from genesis). Without `validatorKeyFile` it is an observer, the
 * same layout `validator testnet` gives one; with it, a standby that holds a
 * copy of that validator's key. The validators need not know it: it dials
 * them, follows gossip and syncs.
 */
export function writeExtraHome(spec: ExtraHomeSpec): { peerId: string } {
  const { home, node } = spec;
  if (existsSync(home)) throw new ClusterError(`${home} already exists; refusing to overwrite it`);
  const genesis = parseGenesisJson(readFileSync(spec.genesisFile, "utf8"), spec.genesisFile);
  if (genesis.validators.length !== spec.validatorP2pPorts.length) {
    throw new ClusterError(
      `genesis lists ${genesis.validators.length} validators but the cluster state has ${spec.validatorP2pPorts.length}`,
    );
  }
  const peers = genesis.validators.map((v, i) => `/ip4/127.0.0.1/tcp/${spec.validatorP2pPorts[i]}/p2p/${v.peerId}`);
  const source = `cluster ${node.role}`;
  const wiring: Override[] = [
    { key: "node.moniker", value: node.name, source },
    ...(spec.validatorKeyFile === undefined ? [{ key: "node.validatorKeyFile", value: "", source }] : []),
    { key: "p2p.listen", value: [`/ip4/127.0.0.1/tcp/${node.p2pPort}`], source },
    { key: "p2p.peers", value: peers, source },
    { key: "api.host", value: "127.0.0.1", source },
    { key: "api.port", value: node.apiPort, source },
    // node0 is the attestation main node; its API port is its p2p port + 1 (the testnet port scheme).
    { key: "attestation.mainNodeUrl", value: `http://127.0.0.1:${spec.validatorP2pPorts[0]! + 1}`, source },
  ];
  const config = loadConfig({ home, file: null, overrides: [...parseSetFlags(spec.sets), ...wiring] });
  const paths = homePaths(home, config);
  const nodeKey = generateKeyPair();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeKeyFile(paths.nodeKeyFile, nodeKey);
  if (spec.validatorKeyFile !== undefined) {
    if (paths.validatorKeyFile === undefined) {
      throw new ClusterError(`${node.name}: a standby needs node.validatorKeyFile; do not --set it empty`);
    }
    copyFileSync(spec.validatorKeyFile, paths.validatorKeyFile);
  }
  copyFileSync(spec.genesisFile, paths.genesisFile);
  // config.toml last: a home with a config file is complete.
  writeFileSync(paths.configFile, renderConfig(config), { mode: 0o644 });
  return { peerId: peerIdOf(nodeKey.publicKey) };
}
