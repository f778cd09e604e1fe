import type { Command } from "commander";
import type { GenerateOptions, ShowOptions } from "./keys-action.ts";
import { collect, HOME_HELP, SET_HELP } from "./options.ts";

export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("show or generate keys");
  keys
    .command("show")
    .description("show this node's validator public key, peer id and validator index in genesis")
    .option("--home <dir>", HOME_HELP)
    .option("--set <section.key=value>", SET_HELP, collect)
    .option("--json", "print one JSON object")
    .action(async (opts: ShowOptions) => {
      const { show } = await import("./keys-action.ts");
      show(opts);
    });
  keys
    .command("generate")
    .description("write a new Ed25519 key file (mode 0600), usable as a validator key or a node key")
    .requiredOption("--out <file>", "key file to create; an existing file is never overwritten")
    .option("--json", "print one JSON object")
    .action(async (opts: GenerateOptions) => {
      const { generate } = await import("./keys-action.ts");
      generate(opts);
    });
}
