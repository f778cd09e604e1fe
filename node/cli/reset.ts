import type { Command } from "commander";
import { collect, HOME_HELP, SET_HELP } from "./options.ts";
import type { ResetOptions } from "./reset-action.ts";

export function registerReset(program: Command): void {
  program
    .command("reset")
    .description("delete this node's chain data (storage.dataDir); keys, config.toml and genesis.json stay")
    .option("--home <dir>", HOME_HELP)
    .option("--set <section.key=value>", SET_HELP, collect)
    .option("--yes", "confirm: the data cannot be recovered (the node re-syncs from its peers)")
    .action(async (opts: ResetOptions) => {
      const { reset } = await import("./reset-action.ts");
      await reset(opts);
    });
}
