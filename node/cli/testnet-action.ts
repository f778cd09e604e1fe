import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULT_PARAMS } from "../committee/index.ts";
import { homePaths, loadConfig, type Override, parseSetFlags } from "../config/index.ts";
import { generateKeyPair, type KeyPair, peerIdOf } from "../crypto/index.ts";
import { MAX_VALIDATORS, toHex } from "../types/index.ts";
import { checkChainId } from "./chain-id.ts";
import { CliError, UsageError } from "./errors.ts";
import { genesisToJson, type HomeContents, writeHome } from "./home.ts";

export interface TestnetOptions {
  validators: number;
  observers: number;
  out: string;
  basePort: number;
  chainId: string;
  set?: string[];
  /** Genesis batch params (batch attestation); defaults from genesis. */
  batchMaxIndexes?: number;
  batchMaxMs?: number;
  /** Comma-separated host name per node: peers by /dns4/<name>, listening on 0.0.0.0 (containers). */
  hostnames?: string;
}

/** One node of the testnet, before anything is written. */
interface PlannedNode {
  name: string;
  home: string;
  validatorKey?: KeyPair;
  nodeKey: KeyPair;
  peerId: string;
  p2pPort: number;
  apiPort: number;
}

/** `validator testnet`: the homes of a local cluster (port scheme in testnet.ts). */
export function testnet(opts: TestnetOptions): void {
  const chainId = checkChainId(opts.chainId);
  if (opts.validators > MAX_VALIDATORS) {
    throw new UsageError(`--validators ${opts.validators}: a committee has at most ${MAX_VALIDATORS} validators`);
  }
  const total = opts.validators + opts.observers;
  const lastPort = opts.basePort + 2 * total - 1;
  if (lastPort > 65_535) {
    throw new UsageError(
      `--base-port ${opts.basePort} leaves no room for ${total} nodes (2 ports each): use at most ${65_536 - 2 * total}`,
    );
  }
  const out = resolve(opts.out);
  const hostnames = opts.hostnames?.split(",").map((h) => h.trim());
  if (hostnames !== undefined) {
    const bad = hostnames.find((h) => !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(h));
    if (hostnames.length !== total || bad !== undefined) {
      throw new UsageError(
        `--hostnames ${JSON.stringify(opts.hostnames)}: give ${total} host names (letters, digits, '.', '-'), one per node in node order`,
      );
    }
  }
  const userOverrides = parseSetFlags(opts.set ?? []);

  const nodes: PlannedNode[] = [];
  for (let j = 0; j < total; j++) {
    const isValidator = j < opts.validators;
    const name = isValidator ? `node${j}` : `observer${j - opts.validators}`;
    const nodeKey = generateKeyPair();
    nodes.push({
      name,
      home: join(out, name),
      ...(isValidator && { validatorKey: generateKeyPair() }),
      nodeKey,
      peerId: peerIdOf(nodeKey.publicKey),
      p2pPort: opts.basePort + 2 * j,
      apiPort: opts.basePort + 2 * j + 1,
    });
  }
  const taken = nodes.filter((n) => existsSync(n.home)).map((n) => n.home);
  if (taken.length > 0) {
    throw new CliError(
      `refusing to overwrite existing homes: ${taken.join(", ")}. Remove them or choose another --out.`,
    );
  }

  const genesisJson = genesisToJson({
    chainId,
    genesisTimeMs: Date.now(),
    params: {
      ...DEFAULT_PARAMS,
      ...(opts.batchMaxIndexes !== undefined && { batchMaxIndexes: opts.batchMaxIndexes }),
      ...(opts.batchMaxMs !== undefined && { batchMaxMs: opts.batchMaxMs }),
    },
    validators: nodes
      .filter((n) => n.validatorKey !== undefined)
      .map((n, index) => ({
        index,
        name: n.name,
        publicKey: toHex(n.validatorKey!.publicKey),
        peerId: n.peerId,
        weight: 1,
        attesterWeight: 1,
      })),
  });
  const address = (n: PlannedNode) => {
    const host = hostnames?.[nodes.indexOf(n)];
    return host === undefined ? `/ip4/127.0.0.1/tcp/${n.p2pPort}` : `/dns4/${host}/tcp/${n.p2pPort}`;
  };
  const bindHost = hostnames === undefined ? "127.0.0.1" : "0.0.0.0";

  // Everything is planned and validated before the first file is written.
  const homes: HomeContents[] = nodes.map((n) => {
    const wiring: Override[] = [
      { key: "node.moniker", value: n.name, source: "testnet" },
      { key: "p2p.listen", value: [`/ip4/${bindHost}/tcp/${n.p2pPort}`], source: "testnet" },
      {
        key: "p2p.peers",
        value: nodes.filter((o) => o !== n).map((o) => `${address(o)}/p2p/${o.peerId}`),
        source: "testnet",
      },
      { key: "api.host", value: bindHost, source: "testnet" },
      { key: "api.port", value: n.apiPort, source: "testnet" },
      // node0 is the attestation main node; every other node polls its API.
      {
        key: "attestation.mainNodeUrl",
        value: n === nodes[0] ? "" : `http://${hostnames?.[0] ?? "127.0.0.1"}:${nodes[0]!.apiPort}`,
        source: "testnet",
      },
    ];
    if (!n.validatorKey) wiring.push({ key: "node.validatorKeyFile", value: "", source: "testnet (observer)" });
    // VALIDATOR_* variables are validated and written like --set (testnet's own wiring wins).
    const config = loadConfig({ home: n.home, file: null, env: process.env, overrides: [...userOverrides, ...wiring] });
    const paths = homePaths(n.home, config);
    if (n.validatorKey && !paths.validatorKeyFile) {
      throw new UsageError("validators need a key file, so node.validatorKeyFile must not be empty");
    }
    return {
      paths,
      config,
      ...(n.validatorKey && { validatorKey: n.validatorKey }),
      nodeKey: n.nodeKey,
      genesisJson,
    };
  });
  const keyFiles = homes.flatMap((h) => [h.paths.validatorKeyFile, h.paths.nodeKeyFile].filter((f) => f !== undefined));
  if (new Set(keyFiles).size !== keyFiles.length) {
    throw new UsageError(
      "two nodes would share a key file: key file paths set with --set must be relative to each home",
    );
  }
  for (const home of homes) writeHome(home);

  console.log(
    `created ${opts.validators} validator and ${opts.observers} observer homes in ${out} (chain id ${chainId})`,
  );
  for (const n of nodes) {
    console.log(`  ${n.name.padEnd(12)} p2p ${n.p2pPort}  api ${n.apiPort}  peer ${n.peerId}`);
  }
}
