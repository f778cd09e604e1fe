/**
 * What node.maxSemiSpaceMiB means for the process. V8 sizes its young
 * generation when the process starts, from `--max-semi-space-size`; a running
 * process cannot change it. So `validator start` and `validator dev`
 * re-execute themselves once (same pid, same arguments, the flag added) when
 * the flag is missing; an environment mark keeps it to once. A
 * --max-semi-space-size of the operator's, on Node's command line or in
 * NODE_OPTIONS, always wins.
 *
 * Why: left to V8, on the measured host each semi-space grew to 64 MiB under
 * load and both stay resident, 128 MiB of a validator's RSS (README, "Memory").
 */

/** Set in the environment of the re-executed process: it must not re-execute again. */
export const SEMI_SPACE_MARK_ENV = "VALIDATOR_SEMI_SPACE_APPLIED";

/** V8 accepts dashes or underscores in flag names. */
const FLAG_NAMES = ["--max-semi-space-size", "--max_semi_space_size"];

/**
 * Flags under which a re-execution would break what the operator is doing:
 * a debugger waiting on the first process, a watcher's IPC channel.
 */
const NO_REEXEC_FLAGS = ["--inspect-brk", "--inspect-wait", "--watch", "--watch-path"];

/** Where Node's process.execve throws instead of replacing the process. */
const NO_EXECVE_PLATFORMS = ["win32", "os400"];

export type SemiSpaceSource = "node.maxSemiSpaceMiB" | "the operator's --max-semi-space-size" | "V8's default";

/** The process as the decision sees it. */
export interface ProcessFacts {
  execPath: string;
  execArgv: readonly string[];
  /** process.argv: the program, the script, the command's arguments. */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  platform: string;
}

/** This process's facts. */
export function processFacts(): ProcessFacts {
  return {
    execPath: process.execPath,
    execArgv: process.execArgv,
    argv: process.argv,
    env: process.env,
    platform: process.platform,
  };
}

export type SemiSpacePlan =
  | { kind: "reexec"; argv: string[]; env: Record<string, string> }
  | {
      kind: "run";
      /** The limit in MiB per semi-space, or null for V8's own. */
      semiSpaceMiB: number | null;
      source: SemiSpaceSource;
      /** Why the configured limit is not the one running, when it is not. */
      note?: string;
    };

/** The value of --max-semi-space-size among `args` (the last one wins, as in V8), or undefined. */
export function semiSpaceFlagIn(args: readonly string[]): number | undefined {
  let value: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    for (const name of FLAG_NAMES) {
      if (arg === name && i + 1 < args.length) value = Number(args[i + 1]);
      else if (arg.startsWith(`${name}=`)) value = Number(arg.slice(name.length + 1));
    }
  }
  return value;
}

/** NODE_OPTIONS split on whitespace, a token's surrounding double quotes removed (Node accepts them). */
function nodeOptionsArgs(nodeOptions: string | undefined): string[] {
  return (nodeOptions ?? "")
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map((s) => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s));
}

function hasFlag(args: readonly string[], names: readonly string[]): boolean {
  return args.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
}

/**
 * What to do at start for `configuredMiB` (0 = V8's default): re-execute
 * with the flag, or run as the process is, and with what limit.
 */
export function semiSpacePlan(configuredMiB: number, facts: ProcessFacts): SemiSpacePlan {
  const operator = semiSpaceFlagIn(nodeOptionsArgs(facts.env.NODE_OPTIONS));
  const inArgv = semiSpaceFlagIn(facts.execArgv);
  const reexecuted = facts.env[SEMI_SPACE_MARK_ENV] !== undefined;
  if (operator !== undefined)
    return { kind: "run", semiSpaceMiB: inArgv ?? operator, source: "the operator's --max-semi-space-size" };
  if (inArgv !== undefined) {
    return {
      kind: "run",
      semiSpaceMiB: inArgv,
      source: reexecuted ? "node.maxSemiSpaceMiB" : "the operator's --max-semi-space-size",
    };
  }
  if (configuredMiB === 0) return { kind: "run", semiSpaceMiB: null, source: "V8's default" };
  const notApplied = (why: string): SemiSpacePlan => ({
    kind: "run",
    semiSpaceMiB: null,
    source: "V8's default",
    note: `node.maxSemiSpaceMiB = ${configuredMiB} not applied: ${why}`,
  });
  if (reexecuted)
    return notApplied(`the re-executed process has no --max-semi-space-size (is ${facts.execPath} Node?)`);
  if (hasFlag(facts.execArgv, NO_REEXEC_FLAGS)) {
    return notApplied(
      "not re-executed under --inspect-brk, --inspect-wait or --watch; pass --max-semi-space-size yourself",
    );
  }
  if (NO_EXECVE_PLATFORMS.includes(facts.platform)) {
    return notApplied(`no re-execution on ${facts.platform}; pass --max-semi-space-size yourself`);
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(facts.env)) if (v !== undefined) env[k] = v;
  env[SEMI_SPACE_MARK_ENV] = "1";
  return {
    kind: "reexec",
    argv: [facts.execPath, `${FLAG_NAMES[0]}=${configuredMiB}`, ...facts.execArgv, ...facts.argv.slice(1)],
    env,
  };
}
