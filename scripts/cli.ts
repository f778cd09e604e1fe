/**
 * The command line of a script, one rule for all of them: `--help` (or
 * `-h`) prints the usage on stdout and exits 0; an unknown option or a bad
 * value prints `<script>: <reason>` and the usage on stderr and exits 2.
 * Never a stack trace for a typo.
 */
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";

/** Whether the arguments ask for help (before a `--` that ends the options). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

/** Prints the reason and the usage on stderr and exits 2 (a usage error). */
export function usageExit(script: string, usage: string, reason: string): never {
  process.stderr.write(`${script}: ${reason}\n${withNewline(usage)}`);
  process.exit(2);
}

/** Prints the usage on stdout and exits 0 when the arguments ask for help. */
export function helpExit(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (!wantsHelp(argv)) return;
  process.stdout.write(withNewline(usage));
  process.exit(0);
}

/**
 * parseArgs in strict mode (no positionals) with the rule above: help first,
 * then the options; a parse error becomes a usage error naming the option.
 */
export function parseScriptArgs<const O extends ParseArgsOptionsConfig>(cli: {
  script: string;
  usage: string;
  options: O;
  argv?: readonly string[];
}) {
  return parseScriptCommand({ ...cli, allowPositionals: false }).values;
}

/** parseScriptArgs for a script that also takes operands (file names): the options and the operands. */
export function parseScriptCommand<const O extends ParseArgsOptionsConfig>(cli: {
  script: string;
  usage: string;
  options: O;
  allowPositionals: boolean;
  argv?: readonly string[];
}) {
  const argv = [...(cli.argv ?? process.argv.slice(2))];
  helpExit(cli.usage, argv);
  try {
    return parseArgs({ args: argv, options: cli.options, strict: true, allowPositionals: cli.allowPositionals });
  } catch (err) {
    return usageExit(cli.script, cli.usage, firstSentence((err as Error).message));
  }
}

/**
 * The value of `read`, or a usage error with the message it threw (the
 * option parsers below throw one that names the option and what it takes).
 */
export function optionValue<T>(cli: { script: string; usage: string }, read: () => T): T {
  try {
    return read();
  } catch (err) {
    return usageExit(cli.script, cli.usage, (err as Error).message);
  }
}

/** Parses a positive number option; bad input is a clear error. */
export function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(v > 0)) throw new Error(`--${name} ${text}: expected a positive number`);
  return v;
}

/** Parses a positive integer option (a count); bad input is a clear error. */
export function positiveInteger(name: string, text: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !(v > 0)) throw new Error(`--${name} ${text}: expected a positive integer`);
  return v;
}

/** Node's parse errors explain the `--` convention at length; the first sentence names the problem. */
function firstSentence(message: string): string {
  const end = message.indexOf(". ");
  return end === -1 ? message : message.slice(0, end + 1);
}

function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}
