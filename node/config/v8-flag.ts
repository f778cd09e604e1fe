/**
 * A setting of ours that stands for a V8 flag V8 reads only at process start
 * (node.maxSemiSpaceMiB, node.heapGrowingPercent). One rule for all of them:
 * the operator's own flag always wins; 0 leaves V8's default; otherwise
 * `validator start` re-executes itself once with the flag (start-plan.ts
 * decides, for every start-up setting together).
 */

/** The run state's own fields, which a setting's value field must not shadow. */
type RunField<F extends string> = Exclude<F, "source" | "note">;

/** A V8 flag behind a config key. */
export interface V8FlagSetting<F extends string> {
  /** The config key, as the log and the warnings name it. */
  key: string;
  /** The flag, with dashes (V8 reads an underscore as a dash, and so do we). */
  flag: string;
  /** The name of the value in the run state (and so in the start-up log line), with its unit. */
  field: F;
}

/** The flag's value a process runs with (null: V8's own behaviour), and where it came from. */
export type V8FlagRun<F extends string> = Record<RunField<F>, number | null> & {
  /** The config key, `the operator's <flag>` or `V8's default`. */
  source: string;
  /** Why the configured value is not the one running, when it is not. */
  note?: string;
};

/** What the process needs for the setting: the flag added by a re-execution, or nothing more. */
export type V8FlagDecision<F extends string> = { kind: "want"; flag: string } | { kind: "run"; run: V8FlagRun<F> };

function run<F extends string>(setting: V8FlagSetting<F>, value: number | null, source: string): V8FlagRun<F> {
  return { [setting.field]: value, source } as V8FlagRun<F>;
}

/** The value of `flag` among `args`, in any spelling V8 reads (the last one wins, as in V8), or undefined. */
function v8FlagValue(args: readonly string[], flag: string): number | undefined {
  let value: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replaceAll("_", "-");
    if (name !== flag) continue;
    if (eq >= 0) value = Number(arg.slice(eq + 1));
    else if (i + 1 < args.length) value = Number(args[i + 1]);
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

/** How a process learned of the setting's flag. */
export interface V8FlagFacts {
  execArgv: readonly string[];
  nodeOptions: string | undefined;
  /** This process is a re-execution that added this flag itself. */
  appliedHere: boolean;
  /** This process is a re-execution (of any setting). */
  reexecuted: boolean;
}

/** The decision for `configured` (0 = V8's default). */
export function v8FlagDecision<F extends string>(
  setting: V8FlagSetting<F>,
  configured: number,
  facts: V8FlagFacts,
): V8FlagDecision<F> {
  const operatorSource = `the operator's ${setting.flag}`;
  // Node refuses some V8 flags in NODE_OPTIONS (--heap-growing-percent): those are never found there.
  const inNodeOptions = v8FlagValue(nodeOptionsArgs(facts.nodeOptions), setting.flag);
  const inArgv = v8FlagValue(facts.execArgv, setting.flag);
  if (inNodeOptions !== undefined) return { kind: "run", run: run(setting, inArgv ?? inNodeOptions, operatorSource) };
  if (inArgv !== undefined)
    return { kind: "run", run: run(setting, inArgv, facts.appliedHere ? setting.key : operatorSource) };
  if (configured === 0) return { kind: "run", run: run(setting, null, "V8's default") };
  if (facts.reexecuted)
    return {
      kind: "run",
      run: v8FlagNotApplied(setting, configured, `the re-executed process has no ${setting.flag}`),
    };
  return { kind: "want", flag: `${setting.flag}=${configured}` };
}

/** The run state when the configured value could not be applied, saying why. */
export function v8FlagNotApplied<F extends string>(
  setting: V8FlagSetting<F>,
  configured: number,
  why: string,
): V8FlagRun<F> {
  return { ...run(setting, null, "V8's default"), note: `${setting.key} = ${configured} not applied: ${why}` };
}
