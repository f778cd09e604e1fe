import type { Command } from "commander";
import type { InitOptions } from "./init-action.ts";
import { collect, HOME_HELP, SET_HELP } from "./options.ts";

export const DEFAULT_INIT_CHAIN_ID = "validator-local";

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("create a single-validator home: validator and node keys, config.toml, genesis.json")
    .option("--home <dir>", HOME_HELP)
    .option("--chain-id <id>", "chain id of the new genesis", DEFAULT_INIT_CHAIN_ID)
    .option("--moniker <name>", "node name (config node.moniker and the validator's name in genesis)")
    .option("--set <section.key=value>", SET_HELP, collect)
    .option("--force", "replace an existing home: new keys, config and genesis, and its data directory is deleted")
    .action(async (opts: InitOptions) => {
      const { init } = await import("./init-action.ts");
      await init(opts);
    });
}
