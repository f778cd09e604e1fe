import type { Command } from "commander";
import { DEFAULT_PARAMS } from "../committee/index.ts";
import { homePaths, loadConfig, parseSetFlags } from "../config/index.ts";
import { generateKeyPair, peerIdOf } from "../crypto/index.ts";
import { toHex } from "../types/index.ts";
import { CliError, UsageError } from "./errors.ts";
import { clearHome, existingHomeEntries, genesisToJson, writeHome } from "./home.ts";
import { chainIdArg, collect, flagOverride, HOME_HELP, resolveHome, SET_HELP } from "./options.ts";

export const DEFAULT_INIT_CHAIN_ID = "validator-local";

interface InitOptions {
  home?: string;
  chainId: string;
  moniker?: string;
  force?: boolean;
  set?: string[];
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("create a single-validator home: validator and node keys, config.toml, genesis.json")
    .option("--home <dir>", HOME_HELP)
    .option("--chain-id <id>", "chain id of the new genesis", chainIdArg, DEFAULT_INIT_CHAIN_ID)
    .option("--moniker <name>", "node name (config node.moniker and the validator's name in genesis)")
    .option("--set <section.key=value>", SET_HELP, collect)
    .option("--force", "replace an existing home: new keys, config and genesis, and its data directory is deleted")
    .action((opts: InitOptions) => init(opts));
}

function init(opts: InitOptions): void {
  const home = resolveHome(opts.home, process.env);
  const overrides = [...parseSetFlags(opts.set ?? []), ...flagOverride("node.moniker", "--moniker", opts.moniker)];
  // The written config holds defaults and flags only; the environment applies when the node loads it.
  const config = loadConfig({ home, file: null, overrides });
  const paths = homePaths(home, config);
  if (!paths.validatorKeyFile) {
    throw new UsageError("init creates a validator home, so node.validatorKeyFile must not be empty");
  }
  const existing = existingHomeEntries(paths);
  if (existing.length > 0) {
    if (!opts.force) {
      throw new CliError(
        `${home} already holds a node (${existing.join(", ")}); refusing to overwrite it. ` +
          "Use --force to replace it (new keys, config and genesis; its data directory is deleted), or choose another --home.",
      );
    }
    clearHome(paths);
  }

  const validatorKey = generateKeyPair();
  const nodeKey = generateKeyPair();
  const peerId = peerIdOf(nodeKey.publicKey);
  const genesisJson = genesisToJson({
    chainId: opts.chainId,
    genesisTimeMs: Date.now(),
    params: DEFAULT_PARAMS,
    validators: [
      {
        index: 0,
        name: config.node.moniker,
        publicKey: toHex(validatorKey.publicKey),
        peerId,
        weight: 1,
        attesterWeight: 1,
      },
    ],
  });
  writeHome({ paths, config, validatorKey, nodeKey, genesisJson });

  console.log(`initialized a single-validator home in ${home}`);
  console.log(`  chain id:             ${opts.chainId}`);
  console.log(`  moniker:              ${config.node.moniker}`);
  console.log(`  validator public key: ${toHex(validatorKey.publicKey)}`);
  console.log(`  peer id:              ${peerId}`);
  console.log(
    `  files:                ${[paths.configFile, paths.genesisFile, paths.validatorKeyFile, paths.nodeKeyFile].join(", ")}`,
  );
}
