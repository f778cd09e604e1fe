/**
 * A setting of ours that stands for a V8 flag V8 reads only at process start
 * (node.maxSemiSpaceMiB, node.heapGrowingPercent). One rule for all of them:
 * the operator's own flag always wins; 0 leaves V8's default; otherwise
 * `validator start` re-executes itself once with the flag (start-plan.ts
 * decides, for every start-up setting together).
 */

/** A V8 flag behind a config key. */
export interface V8FlagSetting<F extends string> {
  /** The config key, as the log and the warnings name it. */
  key: string;
  /** The flag's names: V8 accepts dashes or underscores, the first is the one we pass. */
  names: readonly string[];
  /** The name of the value in the run state (and so in the start-up log line), with its unit. */
  field: F;
}

/** The flag's value a process runs with (null: V8's own behaviour), and where it came from. */
export type V8FlagRun<F extends string> = Record<F, number | null> & {
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

/** The value of one of `names` among `args` (the last one wins, as in V8), or undefined. */
export function v8FlagValue(args: readonly string[], names: readonly string[]): number | undefined {
  let value: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    for (const name of names) {
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
  const operatorSource = `the operator's ${setting.names[0]}`;
  const inNodeOptions = v8FlagValue(nodeOptionsArgs(facts.nodeOptions), setting.names);
  const inArgv = v8FlagValue(facts.execArgv, setting.names);
  if (inNodeOptions !== undefined) return { kind: "run", run: run(setting, inArgv ?? inNodeOptions, operatorSource) };
  if (inArgv !== undefined)
    return { kind: "run", run: run(setting, inArgv, facts.appliedHere ? setting.key : operatorSource) };
  if (configured === 0) return { kind: "run", run: run(setting, null, "V8's default") };
  if (facts.reexecuted)
    return {
      kind: "run",
      run: v8FlagNotApplied(setting, configured, `the re-executed process has no ${setting.names[0]}`),
    };
  return { kind: "want", flag: `${setting.names[0]}=${configured}` };
}

/** The run state when the configured value could not be applied, saying why. */
export function v8FlagNotApplied<F extends string>(
  setting: V8FlagSetting<F>,
  configured: number,
  why: string,
): V8FlagRun<F> {
  return { ...run(setting, null, "V8's default"), note: `${setting.key} = ${configured} not applied: ${why}` };
}
