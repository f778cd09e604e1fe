import type { Command } from "commander";
import { collect, intArg, SET_HELP } from "./options.ts";

export interface StandbyOptions {
  from: string;
  out: string;
  p2pPort?: number;
  apiPort?: number;
  redis?: string[];
  set?: string[];
}

export function registerStandby(program: Command): void {
  program
    .command("standby")
    .description(
      "create the home of a standby instance of a validator (HA mode): the same validator key and genesis, a new node key, its own ports, ha.enabled = true",
    )
    .requiredOption("--from <home>", "home of the validator to stand by for")
    .requiredOption("--out <dir>", "new home directory for the standby (must not hold a node)")
    .option("--p2p-port <port>", "p2p listen port (default: the source's + 1000)", intArg(1, 65_535))
    .option("--api-port <port>", "HTTP API port (default: the source's + 1000; 0 = any free port)", intArg(0, 65_535))
    .option("--redis <url>", "redis-server URL for the lease (repeatable; default: the source's ha.redisUrls)", collect)
    .option("--set <section.key=value>", SET_HELP, collect)
    .addHelpText(
      "after",
      "\nBoth instances must run with ha.enabled = true and the same ha.redisUrls (3 independent\n" +
        "redis-servers recommended). The standby follows the chain and signs only while it holds the lease.",
    )
    .action(async (opts: StandbyOptions) => {
      const { standby } = await import("./standby-action.ts");
      standby(opts);
    });
}
