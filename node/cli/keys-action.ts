import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parseGenesisJson } from "../committee/index.ts";
import { homePaths, loadConfig, parseSetFlags } from "../config/index.ts";
import { generateKeyPair, peerIdOf, readKeyFile, writeKeyFile } from "../crypto/index.ts";
import { toHex } from "../types/index.ts";
import { CliError } from "./errors.ts";
import { resolveHome } from "./options.ts";

export interface ShowOptions {
  home?: string;
  set?: string[];
  json?: boolean;
}
export interface GenerateOptions {
  out: string;
  json?: boolean;
}

/** What `keys show` reports. */
interface KeyReport {
  home: string;
  moniker: string;
  /** null for an observer. */
  validatorPublicKey: string | null;
  nodePublicKey: string;
  peerId: string;
  chainId: string | null;
  /** null when not in genesis (an observer) or when there is no genesis file. */
  validatorIndex: number | null;
  notes: string[];
}

/** `validator keys show` */
export function show(opts: ShowOptions): void {
  const home = resolveHome(opts.home, process.env);
  if (!existsSync(home) || !statSync(home).isDirectory()) {
    throw new CliError(`no node home at ${home}; create one with: validator init --home ${home}`);
  }
  const config = loadConfig({ home, env: process.env, overrides: parseSetFlags(opts.set ?? []) });
  const paths = homePaths(home, config);
  const nodeKey = readKeyFile(paths.nodeKeyFile);
  const validatorKey = paths.validatorKeyFile ? readKeyFile(paths.validatorKeyFile) : undefined;
  const report: KeyReport = {
    home,
    moniker: config.node.moniker,
    validatorPublicKey: validatorKey ? toHex(validatorKey.publicKey) : null,
    nodePublicKey: toHex(nodeKey.publicKey),
    peerId: peerIdOf(nodeKey.publicKey),
    chainId: null,
    validatorIndex: null,
    notes: [],
  };
  if (!validatorKey) report.notes.push("observer: node.validatorKeyFile is empty, this node never signs");
  if (existsSync(paths.genesisFile)) {
    const genesis = parseGenesisJson(readFileSync(paths.genesisFile, "utf8"), paths.genesisFile);
    report.chainId = genesis.chainId;
    const member = genesis.validators.find((v) => v.publicKey === report.validatorPublicKey);
    if (member) {
      report.validatorIndex = member.index;
      if (member.peerId !== report.peerId) {
        report.notes.push(
          `genesis lists peer id ${member.peerId} for this validator, but the node key gives ${report.peerId}`,
        );
      }
    } else if (validatorKey) report.notes.push("the validator key is not in the genesis committee");
  } else report.notes.push(`no genesis file at ${paths.genesisFile}`);

  if (opts.json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(`home:                 ${report.home}`);
  console.log(`moniker:              ${report.moniker}`);
  console.log(`validator public key: ${report.validatorPublicKey ?? "(none: observer)"}`);
  console.log(`node public key:      ${report.nodePublicKey}`);
  console.log(`peer id:              ${report.peerId}`);
  console.log(`chain id:             ${report.chainId ?? "(unknown)"}`);
  console.log(`validator index:      ${report.validatorIndex ?? "(not in genesis)"}`);
  for (const note of report.notes) console.log(`note: ${note}`);
}

/** `validator keys generate` */
export function generate(opts: GenerateOptions): void {
  const out = resolve(opts.out);
  if (existsSync(out)) throw new CliError(`${out} already exists; refusing to overwrite a key file`);
  const pair = generateKeyPair();
  writeKeyFile(out, pair);
  const publicKey = toHex(pair.publicKey);
  const peerId = peerIdOf(pair.publicKey);
  if (opts.json) {
    console.log(JSON.stringify({ file: out, publicKey, peerId }));
    return;
  }
  console.log(`wrote ${out} (mode 0600)`);
  console.log(`public key:              ${publicKey}`);
  console.log(`peer id (as a node key): ${peerId}`);
}
