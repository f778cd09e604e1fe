import type { Command } from "commander";
import { collect, intArg, SET_HELP } from "./options.ts";
import type { TestnetOptions } from "./testnet-action.ts";

export const DEFAULT_TESTNET_CHAIN_ID = "validator-testnet";
export const DEFAULT_BASE_PORT = 26656;
export const MAX_OBSERVERS = 64;

const PORT_SCHEME = `
Ports (all on 127.0.0.1): nodes are numbered j = 0, 1, ... with the validators
first (node0 .. node<N-1>), then the observers (observer0 .. observer<M-1>).
Node j listens for p2p on base-port + 2j and serves its API on base-port + 2j + 1,
so with the default base port node0 uses 26656/26657, node1 26658/26659, ...

Every node's p2p.peers lists every other node (validators and observers) as
/ip4/127.0.0.1/tcp/<p2p port>/p2p/<peer id>. All validators share one
genesis.json; observers get the same genesis and a node key, but no validator key.

Batch attestation: node0 is the main node (attestation.mainNodeUrl empty); every
other node polls node0's API (http://127.0.0.1:<base-port + 1>) for the next
batch to attest.`;

export function registerTestnet(program: Command): void {
  program
    .command("testnet")
    .description("create the homes of a local cluster: DIR/node0.. (validators) and DIR/observer0.., peers wired")
    .requiredOption("--validators <n>", "number of validators (at most the protocol limit, 256)", intArg(1))
    .option("--observers <m>", `number of observers (0-${MAX_OBSERVERS})`, intArg(0, MAX_OBSERVERS), 0)
    .requiredOption("--out <dir>", "directory that receives one home per node")
    .option("--base-port <port>", "first port; see the scheme below", intArg(1024, 65_535), DEFAULT_BASE_PORT)
    .option("--chain-id <id>", "chain id of the genesis", DEFAULT_TESTNET_CHAIN_ID)
    .option("--batch-max-indexes <n>", "genesis: most finalized indexes in one attestation batch", intArg(1, 4096))
    .option("--batch-max-ms <ms>", "genesis: a batch closes once its proposal times span this", intArg(1, 86_400_000))
    .option(
      "--hostnames <list>",
      "comma-separated host name of each node, in node order (e.g. node0,node1,node2,node3 in docker-compose.yml): " +
        "peers are dialed at /dns4/<name>/tcp/<port>, and p2p and the API listen on 0.0.0.0",
    )
    .option(
      "--set <section.key=value>",
      `${SET_HELP}; applies to every node (ports, peers and key files are set by testnet)`,
      collect,
    )
    .addHelpText("after", PORT_SCHEME)
    .action(async (opts: TestnetOptions) => {
      const { testnet } = await import("./testnet-action.ts");
      testnet(opts);
    });
}
