import type { Command } from "commander";
import { collect, DEV_HOME, HOME_HELP, intArg, SET_HELP } from "./options.ts";
import type { StartOptions } from "./start-action.ts";

function commonStartOptions(cmd: Command): Command {
  return cmd
    .option("--set <section.key=value>", SET_HELP, collect)
    .option("--log-level <level>", "log.level: trace, debug, info, warn, error, fatal or silent")
    .option("--log-format <format>", "log.format: json (default) or pretty")
    .option("--api-host <host>", "api.host: address the HTTP API binds to")
    .option("--api-port <port>", "api.port: HTTP API port (0 = any free port)", intArg(0, 65_535));
}

export function registerStart(program: Command): void {
  commonStartOptions(
    program
      .command("start")
      .description("run the node in the foreground until SIGINT or SIGTERM; it restarts from its data directory")
      .option("--home <dir>", HOME_HELP),
  ).action(async (opts: StartOptions) => {
    const { start } = await import("./start-action.ts");
    await start(opts);
  });
  commonStartOptions(
    program
      .command("dev")
      .description(`run a single-validator dev chain in ./${DEV_HOME} (created on first run, reused after)`)
      .option("--home <dir>", "dev home directory", DEV_HOME),
  ).action(async (opts: StartOptions) => {
    const { dev } = await import("./start-action.ts");
    await dev(opts);
  });
}
