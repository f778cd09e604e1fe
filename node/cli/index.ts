/**
 * The `validator` command line. Each command has a definition file (options
 * and help; cheap to load) and an action file that is imported only when the
 * command runs, so --help and usage errors answer quickly. The dependency
 * runs one way: the action file owns its options type, and the definition
 * imports it as a type only (erased at run time) plus the dynamic import.
 */
import { Command } from "commander";
import { reportError } from "./errors.ts";
import { registerInit } from "./init.ts";
import { registerKeys } from "./keys.ts";
import { registerReset } from "./reset.ts";
import { registerResync } from "./resync.ts";
import { registerStandby } from "./standby.ts";
import { registerStart } from "./start.ts";
import { registerHealth, registerStatus } from "./status.ts";
import { registerTestnet } from "./testnet.ts";
import { registerVersion } from "./version.ts";

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./errors.ts";

function buildProgram(): Command {
  const program = new Command("validator");
  // Settings made before .command() are inherited by every subcommand.
  program
    .description("BFT validator node: lanes for availability, two-phase fast finality, LevelDB WAL")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    })
    .helpCommand("help [command]", "show help for a command");
  registerInit(program);
  registerTestnet(program);
  registerStandby(program);
  registerStart(program);
  registerKeys(program);
  registerStatus(program);
  registerHealth(program);
  registerReset(program);
  registerResync(program);
  registerVersion(program);
  return program;
}

/** Runs the CLI on process.argv-style arguments and returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (err) {
    return await reportError(err, (text) => process.stderr.write(text));
  }
}
