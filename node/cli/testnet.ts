import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { DEFAULT_PARAMS } from "../committee/index.ts";
import { homePaths, loadConfig, type Override, parseSetFlags } from "../config/index.ts";
import { generateKeyPair, type KeyPair, peerIdOf } from "../crypto/index.ts";
import { MAX_VALIDATORS, toHex } from "../types/index.ts";
import { CliError, UsageError } from "./errors.ts";
import { genesisToJson, type HomeContents, writeHome } from "./home.ts";
import { chainIdArg, collect, intArg, SET_HELP } from "./options.ts";

export const DEFAULT_TESTNET_CHAIN_ID = "validator-testnet";
export const DEFAULT_BASE_PORT = 26656;
const MAX_OBSERVERS = 64;

interface TestnetOptions {
  validators: number;
  observers: number;
  out: string;
  basePort: number;
  chainId: string;
  set?: string[];
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

const PORT_SCHEME = `
Ports (all on 127.0.0.1): nodes are numbered j = 0, 1, ... with the validators
first (node0 .. node<N-1>), then the observers (observer0 .. observer<M-1>).
Node j listens for p2p on base-port + 2j and serves its API on base-port + 2j + 1,
so with the default base port node0 uses 26656/26657, node1 26658/26659, ...

Every node's p2p.peers lists every other node (validators and observers) as
/ip4/127.0.0.1/tcp/<p2p port>/p2p/<peer id>. All validators share one
genesis.json; observers get the same genesis and a node key, but no validator key.`;

export function registerTestnet(program: Command): void {
  program
    .command("testnet")
    .description("create the homes of a local cluster: DIR/node0.. (validators) and DIR/observer0.., peers wired")
    .requiredOption("--validators <n>", `number of validators (1-${MAX_VALIDATORS})`, intArg(1, MAX_VALIDATORS))
    .option("--observers <m>", `number of observers (0-${MAX_OBSERVERS})`, intArg(0, MAX_OBSERVERS), 0)
    .requiredOption("--out <dir>", "directory that receives one home per node")
    .option("--base-port <port>", "first port; see the scheme below", intArg(1024, 65_535), DEFAULT_BASE_PORT)
    .option("--chain-id <id>", "chain id of the genesis", chainIdArg, DEFAULT_TESTNET_CHAIN_ID)
    .option(
      "--set <section.key=value>",
      `${SET_HELP}; applies to every node (ports, peers and key files are set by testnet)`,
      collect,
    )
    .addHelpText("after", PORT_SCHEME)
    .action((opts: TestnetOptions) => testnet(opts));
}

function testnet(opts: TestnetOptions): void {
  const total = opts.validators + opts.observers;
  const lastPort = opts.basePort + 2 * total - 1;
  if (lastPort > 65_535) {
    throw new UsageError(
      `--base-port ${opts.basePort} leaves no room for ${total} nodes (2 ports each): use at most ${65_536 - 2 * total}`,
    );
  }
  const out = resolve(opts.out);
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
    chainId: opts.chainId,
    genesisTimeMs: Date.now(),
    params: DEFAULT_PARAMS,
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
  const address = (n: PlannedNode) => `/ip4/127.0.0.1/tcp/${n.p2pPort}`;

  // Everything is planned and validated before the first file is written.
  const homes: HomeContents[] = nodes.map((n) => {
    const wiring: Override[] = [
      { key: "node.moniker", value: n.name, source: "testnet" },
      { key: "p2p.listen", value: [address(n)], source: "testnet" },
      {
        key: "p2p.peers",
        value: nodes.filter((o) => o !== n).map((o) => `${address(o)}/p2p/${o.peerId}`),
        source: "testnet",
      },
      { key: "api.host", value: "127.0.0.1", source: "testnet" },
      { key: "api.port", value: n.apiPort, source: "testnet" },
    ];
    if (!n.validatorKey) wiring.push({ key: "node.validatorKeyFile", value: "", source: "testnet (observer)" });
    const config = loadConfig({ home: n.home, file: null, overrides: [...userOverrides, ...wiring] });
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
  for (const home of homes) writeHome(home);

  console.log(
    `created ${opts.validators} validator and ${opts.observers} observer homes in ${out} (chain id ${opts.chainId})`,
  );
  for (const n of nodes) {
    console.log(`  ${n.name.padEnd(12)} p2p ${n.p2pPort}  api ${n.apiPort}  peer ${n.peerId}`);
  }
}
