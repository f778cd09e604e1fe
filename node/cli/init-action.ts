import { DEFAULT_PARAMS } from "../committee/index.ts";
import { homePaths, loadConfig, parseSetFlags } from "../config/index.ts";
import { generateKeyPair, peerIdOf } from "../crypto/index.ts";
import { toHex } from "../types/index.ts";
import { checkChainId } from "./chain-id.ts";
import { CliError, UsageError } from "./errors.ts";
import { clearHome, existingHomeEntries, genesisToJson, writeHome } from "./home.ts";
import { assertHomeNotRunning } from "./lock.ts";
import { flagOverride, resolveHome } from "./options.ts";

export interface InitOptions {
  home?: string;
  chainId: string;
  moniker?: string;
  force?: boolean;
  set?: string[];
}

/** `validator init`: a single-validator home. */
export async function init(opts: InitOptions): Promise<void> {
  const chainId = checkChainId(opts.chainId);
  const home = resolveHome(opts.home, process.env);
  const overrides = [...parseSetFlags(opts.set ?? []), ...flagOverride("node.moniker", "--moniker", opts.moniker)];
  // VALIDATOR_* variables are validated and written into config.toml like flags (README "Configuration").
  const config = loadConfig({ home, file: null, env: process.env, overrides });
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
    await assertHomeNotRunning("init --force", home, paths.dataDir);
    clearHome(paths);
  }

  const validatorKey = generateKeyPair();
  const nodeKey = generateKeyPair();
  const peerId = peerIdOf(nodeKey.publicKey);
  const genesisJson = genesisToJson({
    chainId: chainId,
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
  console.log(`  chain id:             ${chainId}`);
  console.log(`  moniker:              ${config.node.moniker}`);
  console.log(`  validator public key: ${toHex(validatorKey.publicKey)}`);
  console.log(`  peer id:              ${peerId}`);
  console.log(
    `  files:                ${[paths.configFile, paths.genesisFile, paths.validatorKeyFile, paths.nodeKeyFile].join(", ")}`,
  );
}
