/**
 * What node.maxSemiSpaceMiB means for the process. V8 sizes its young
 * generation when the process starts, from `--max-semi-space-size`; a running
 * process cannot change it. So `validator start` and `validator dev`
 * re-execute themselves once with the flag when it is missing (start-plan.ts
 * decides, together with the malloc setting). A --max-semi-space-size of the
 * operator's, on Node's command line or in NODE_OPTIONS, always wins.
 *
 * Why: left to V8, on the measured host each semi-space grew to 64 MiB under
 * load and both stay resident, 128 MiB of a validator's RSS (README, "Memory").
 */

/** V8 accepts dashes or underscores in flag names. */
const FLAG_NAMES = ["--max-semi-space-size", "--max_semi_space_size"];

export type SemiSpaceSource = "node.maxSemiSpaceMiB" | "the operator's --max-semi-space-size" | "V8's default";

/** The young generation limit a process runs with, and where it came from. */
export interface SemiSpaceRun {
  /** The limit in MiB per semi-space, or null for V8's own. */
  semiSpaceMiB: number | null;
  source: SemiSpaceSource;
  /** Why the configured limit is not the one running, when it is not. */
  note?: string;
}

/** What the process needs for node.maxSemiSpaceMiB: the flag added by a re-execution, or nothing more. */
export type SemiSpaceDecision = { kind: "want"; flag: string } | { kind: "run"; run: SemiSpaceRun };

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
export function nodeOptionsArgs(nodeOptions: string | undefined): string[] {
  return (nodeOptions ?? "")
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map((s) => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s));
}

/**
 * The decision for `configuredMiB` (0 = V8's default). `execArgv` and
 * NODE_OPTIONS are the process's; `appliedHere` says this process is a
 * re-execution that added the flag itself.
 */
export function semiSpaceDecision(
  configuredMiB: number,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
  appliedHere: boolean,
  reexecuted: boolean,
): SemiSpaceDecision {
  const operator = semiSpaceFlagIn(nodeOptionsArgs(nodeOptions));
  const inArgv = semiSpaceFlagIn(execArgv);
  if (operator !== undefined)
    return { kind: "run", run: { semiSpaceMiB: inArgv ?? operator, source: "the operator's --max-semi-space-size" } };
  if (inArgv !== undefined) {
    const source = appliedHere ? "node.maxSemiSpaceMiB" : "the operator's --max-semi-space-size";
    return { kind: "run", run: { semiSpaceMiB: inArgv, source } };
  }
  if (configuredMiB === 0) return { kind: "run", run: { semiSpaceMiB: null, source: "V8's default" } };
  if (reexecuted)
    return {
      kind: "run",
      run: semiSpaceNotApplied(configuredMiB, "the re-executed process has no --max-semi-space-size"),
    };
  return { kind: "want", flag: `${FLAG_NAMES[0]}=${configuredMiB}` };
}

/** The run state when the configured limit could not be applied, saying why. */
export function semiSpaceNotApplied(configuredMiB: number, why: string): SemiSpaceRun {
  return {
    semiSpaceMiB: null,
    source: "V8's default",
    note: `node.maxSemiSpaceMiB = ${configuredMiB} not applied: ${why}`,
  };
}
