import { CommanderError } from "commander";

/** Exit codes: 0 ok, 1 a problem with files or state, 2 bad command-line input. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad command-line input: message on stderr, exit code 2, no stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** An expected failure (a file exists, a key file is unreadable): message on stderr, exit code 1. */
export class CliError extends Error {
  override name = "CliError";
}

/** The message was already printed (and logged); only the exit code is left to return. */
export class ReportedError extends Error {
  override name = "ReportedError";
  readonly exitCode: number;
  constructor(exitCode: number) {
    super("reported");
    this.exitCode = exitCode;
  }
}

/** Errors that mean a bug in this program, not bad input: these keep their stack trace. */
export function isInternal(err: unknown): boolean {
  return err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError;
}

/**
 * Prints an error the way an operator should see it and returns the exit code.
 * The config module is loaded only here, on the error path, so that --help and
 * usage errors stay fast.
 */
export async function reportError(err: unknown, writeErr: (text: string) => void): Promise<number> {
  if (err instanceof CommanderError) {
    // commander already printed its message or the help text; help that was
    // asked for (--help, help <command>, --version) exits 0, anything else is a usage error.
    return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (err instanceof ReportedError) return err.exitCode;
  if (err instanceof UsageError) {
    writeErr(`error: ${err.message}\n(run with --help for usage)\n`);
    return EXIT_USAGE;
  }
  if (err instanceof CliError) {
    writeErr(`error: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  const { ConfigError } = await import("../config/index.ts");
  if (err instanceof ConfigError) {
    writeErr(`error: ${err.message}\n`);
    return err.fromCommandLine ? EXIT_USAGE : EXIT_FAILURE;
  }
  if (isInternal(err)) {
    writeErr(`internal error (a bug; please report it): ${(err as Error).stack}\n`);
    return EXIT_FAILURE;
  }
  writeErr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT_FAILURE;
}
