import type { Command } from "commander";
import { collect, HOME_HELP, SET_HELP } from "./options.ts";
import type { StatusOptions } from "./status-action.ts";

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("print a running node's status (GET /status of its HTTP API)")
    .option("--api <url>", "the node's API base URL (default: from the home's config, e.g. http://127.0.0.1:26657)")
    .option("--home <dir>", HOME_HELP)
    .option("--set <section.key=value>", SET_HELP, collect)
    .option("--json", "print the raw JSON")
    .action(async (opts: StatusOptions) => {
      const { status } = await import("./status-action.ts");
      await status(opts);
    });
}

export function registerHealth(program: Command): void {
  program
    .command("health")
    .description(
      "ask a running node's GET /health (the API address from its home's config): exit 0 when it answers 200 (ok) " +
        "or 206 (syncing), 1 when it is halted, stopping or does not answer (the Docker health check)",
    )
    .option("--api <url>", "the node's API base URL (default: from the home's config)")
    .option("--home <dir>", HOME_HELP)
    .option("--set <section.key=value>", SET_HELP, collect)
    .action(async (opts: StatusOptions) => {
      const { health } = await import("./status-action.ts");
      await health(opts);
    });
}
