/**
 * The V8 young generation's size limit (node.maxSemiSpaceMiB). V8 sizes the
 * young generation when the process starts, from `--max-semi-space-size`;
 * it cannot be changed from inside a running process. So `validator start`
 * re-executes itself once (same pid, same arguments, the flag added) when the
 * flag is missing. An operator's own flag, on the command line or in
 * NODE_OPTIONS, always wins.
 *
 * Why the node caps it: V8 grows each semi-space to 64 MiB under load, and
 * both are resident, so the young generation alone holds 128 MiB of a
 * validator's RSS. With 16 MiB semi-spaces a 4-validator devnet ran with
 * ~100 MiB less RSS per node at every rate, at the same latency (README,
 * "Memory").
 */

/** V8 accepts dashes or underscores in flag names. */
const FLAG_NAMES = ["--max-semi-space-size", "--max_semi_space_size"];

export type SemiSpaceSource = "node.maxSemiSpaceMiB" | "the operator's --max-semi-space-size" | "V8's default";

export interface SemiSpaceState {
  /** The limit in MiB per semi-space, or null for V8's own (adaptive, up to 64 MiB). */
  semiSpaceMiB: number | null;
  source: SemiSpaceSource;
}

/** The value of --max-semi-space-size among `args` (last one wins, as in V8), or undefined. */
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

/** NODE_OPTIONS split the way Node splits it for plain flags (on whitespace). */
function nodeOptionsArgs(nodeOptions: string | undefined): string[] {
  return (nodeOptions ?? "").split(/\s+/).filter((s) => s.length > 0);
}

/**
 * What the young generation runs with in a process started with `execArgv`
 * and `nodeOptions` when the config asks for `configuredMiB` (0 = V8's
 * default). The operator's flag comes first; then the config's, once the
 * re-execution has added it.
 */
export function semiSpaceState(opts: {
  configuredMiB: number;
  execArgv: readonly string[];
  nodeOptions: string | undefined;
}): SemiSpaceState {
  const fromOptions = semiSpaceFlagIn(nodeOptionsArgs(opts.nodeOptions));
  const fromArgv = semiSpaceFlagIn(opts.execArgv);
  if (fromOptions !== undefined)
    return { semiSpaceMiB: fromArgv ?? fromOptions, source: "the operator's --max-semi-space-size" };
  if (fromArgv !== undefined) {
    // Our own re-execution puts exactly the configured value first; anything else is the operator's.
    const ours = opts.configuredMiB > 0 && fromArgv === opts.configuredMiB;
    return { semiSpaceMiB: fromArgv, source: ours ? "node.maxSemiSpaceMiB" : "the operator's --max-semi-space-size" };
  }
  return { semiSpaceMiB: null, source: "V8's default" };
}

/**
 * The argv (program first) to re-execute this process with so that the young
 * generation follows `configuredMiB`, or null when nothing is to be done: the
 * config leaves it to V8 (0), or a --max-semi-space-size is already there.
 */
export function semiSpaceReexecArgv(opts: {
  configuredMiB: number;
  execPath: string;
  execArgv: readonly string[];
  argv: readonly string[];
  nodeOptions: string | undefined;
}): string[] | null {
  if (opts.configuredMiB <= 0) return null;
  if (semiSpaceFlagIn(opts.execArgv) !== undefined) return null;
  if (semiSpaceFlagIn(nodeOptionsArgs(opts.nodeOptions)) !== undefined) return null;
  return [opts.execPath, `${FLAG_NAMES[0]}=${opts.configuredMiB}`, ...opts.execArgv, ...opts.argv.slice(1)];
}
