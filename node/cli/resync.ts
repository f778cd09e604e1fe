import type { Command } from "commander";
import { collect, HOME_HELP, SET_HELP } from "./options.ts";

export interface ResyncOptions {
  home?: string;
  set?: string[];
  yes?: boolean;
}

export function registerResync(program: Command): void {
  program
    .command("resync")
    .description(
      "rebuild this node's chain data from its peers after damage: keeps the safety record (what it voted) and the keys; the damaged database is moved aside, not deleted",
    )
    .option("--home <dir>", HOME_HELP)
    .option("--set <section.key=value>", SET_HELP, collect)
    .option("--yes", "confirm: the chain data is rebuilt from the network when the node starts next")
    .action(async (opts: ResyncOptions) => {
      const { resync } = await import("./resync-action.ts");
      await resync(opts);
    });
}
