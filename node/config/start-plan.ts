/**
 * What `validator start` and `validator dev` do before the node loads: three
 * settings take effect only when a process starts (node.maxSemiSpaceMiB and
 * node.heapGrowingPercent, V8 flags, and node.mallocMmapThresholdKiB, a
 * glibc environment variable), so when the process runs without what the
 * config asks for, it re-executes itself once: same pid (pid files, systemd,
 * Docker's PID 1 unchanged), same arguments, the flags and the variable
 * added, the environment marked so that it happens once. `startPlan` is pure
 * (process facts in, a plan out; `processFacts` reads them from this
 * process); node/cli/start-action.ts carries it out and the runtime logs
 * what runs.
 */
import { HEAP_GROWING, type HeapGrowingRun } from "./heap-growing.ts";
import { type MallocRun, mallocDecision, mallocNotApplied } from "./malloc-threshold.ts";
import { nodeOptionsArgs, type V8FlagFacts, v8FlagDecision, v8FlagNotApplied } from "./v8-flag.ts";
import { SEMI_SPACE, type SemiSpaceRun } from "./young-generation.ts";

/** Set in the environment of the re-executed process (what it added): it must not re-execute again. */
export const REEXEC_MARK_ENV = "VALIDATOR_REEXECUTED";
const MARK_SEMI_SPACE = "semi-space";
const MARK_HEAP_GROWING = "heap-growing";
const MARK_MALLOC = "malloc";

/**
 * Flags under which a re-execution would break what the operator is doing:
 * a debugger waiting on the first process, a watcher's IPC channel.
 */
const NO_REEXEC_FLAGS = ["--inspect-brk", "--inspect-wait", "--watch", "--watch-path"];

/** Where Node's process.execve throws instead of replacing the process. */
const NO_EXECVE_PLATFORMS = ["win32", "os400"];

/** The process as the decision sees it. */
export interface ProcessFacts {
  execPath: string;
  execArgv: readonly string[];
  /** process.argv: the program, the script, the command's arguments. */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  platform: string;
  /** The C library is glibc (only glibc reads MALLOC_MMAP_THRESHOLD_); asked only when it matters. */
  isGlibc: () => boolean;
}

/** This process's facts. */
export function processFacts(): ProcessFacts {
  return {
    execPath: process.execPath,
    execArgv: process.execArgv,
    argv: process.argv,
    env: process.env,
    platform: process.platform,
    isGlibc,
  };
}

let glibcSeen: boolean | undefined;

/**
 * Node's diagnostic report names the glibc it runs on; musl and other
 * systems have none. The report is built once per process, without its
 * network part (resolving open sockets' peers can take long), and a report
 * that cannot be built counts as "not glibc" (the setting is then reported
 * as not applied, never wrongly as applied).
 */
function isGlibc(): boolean {
  if (glibcSeen !== undefined) return glibcSeen;
  glibcSeen = false;
  // excludeNetwork is Node's (since 22.13), not yet in its type definitions.
  const report = process.report as (NodeJS.ProcessReport & { excludeNetwork?: boolean }) | undefined;
  if (process.platform !== "linux" || report === undefined) return glibcSeen;
  const excludeNetwork = report.excludeNetwork;
  try {
    report.excludeNetwork = true;
    const header = (report.getReport() as { header?: { glibcVersionRuntime?: unknown } }).header;
    glibcSeen = typeof header?.glibcVersionRuntime === "string";
  } catch {
    glibcSeen = false;
  } finally {
    report.excludeNetwork = excludeNetwork;
  }
  return glibcSeen;
}

/** The settings the plan applies. */
export interface StartTuning {
  maxSemiSpaceMiB: number;
  heapGrowingPercent: number;
  mallocMmapThresholdKiB: number;
}

/** What each setting is when the process runs as it is. */
export interface StartRun {
  semiSpace: SemiSpaceRun;
  heapGrowing: HeapGrowingRun;
  malloc: MallocRun;
}

export type StartPlan =
  | {
      kind: "reexec";
      argv: string[];
      env: Record<string, string>;
      /** What the re-execution adds, by config key (for a warning when it fails). */
      adds: string[];
      /** What runs if the re-execution does not happen (it failed, or a process started the node otherwise). */
      fallback: StartRun;
    }
  | ({ kind: "run" } & StartRun);

function hasFlag(args: readonly string[], names: readonly string[]): boolean {
  return args.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
}

/** Why this process must not replace itself, or null. */
function reexecBlocked(facts: ProcessFacts): string | null {
  const flags = [...facts.execArgv, ...nodeOptionsArgs(facts.env.NODE_OPTIONS)];
  // `node --watch` runs the program in a child without the flag, marked by this variable.
  if (hasFlag(flags, NO_REEXEC_FLAGS) || facts.env.WATCH_REPORT_DEPENDENCIES !== undefined)
    return "not re-executed under --inspect-brk, --inspect-wait or --watch";
  if (NO_EXECVE_PLATFORMS.includes(facts.platform)) return `no re-execution on ${facts.platform}`;
  return null;
}

/** What to do at start: re-execute with what is missing, or run as the process is (and with what). */
export function startPlan(tuning: StartTuning, facts: ProcessFacts): StartPlan {
  const mark = facts.env[REEXEC_MARK_ENV];
  const reexecuted = mark !== undefined;
  const applied = new Set((mark ?? "").split(","));
  const flagFacts = (markOfSetting: string): V8FlagFacts => ({
    execArgv: facts.execArgv,
    nodeOptions: facts.env.NODE_OPTIONS,
    appliedHere: applied.has(markOfSetting),
    reexecuted,
  });
  const semi = v8FlagDecision(SEMI_SPACE, tuning.maxSemiSpaceMiB, flagFacts(MARK_SEMI_SPACE));
  const growing = v8FlagDecision(HEAP_GROWING, tuning.heapGrowingPercent, flagFacts(MARK_HEAP_GROWING));
  const malloc = mallocDecision(
    tuning.mallocMmapThresholdKiB,
    facts.env,
    facts.isGlibc,
    applied.has(MARK_MALLOC),
    reexecuted,
  );
  if (semi.kind === "run" && growing.kind === "run" && malloc.kind === "run")
    return { kind: "run", semiSpace: semi.run, heapGrowing: growing.run, malloc: malloc.run };

  const notApplied = (why: string): StartRun => ({
    semiSpace:
      semi.kind === "run"
        ? semi.run
        : v8FlagNotApplied(SEMI_SPACE, tuning.maxSemiSpaceMiB, `${why}; pass ${SEMI_SPACE.flag} yourself`),
    heapGrowing:
      growing.kind === "run"
        ? growing.run
        : v8FlagNotApplied(HEAP_GROWING, tuning.heapGrowingPercent, `${why}; pass ${HEAP_GROWING.flag} yourself`),
    malloc:
      malloc.kind === "run"
        ? malloc.run
        : mallocNotApplied(tuning.mallocMmapThresholdKiB, `${why}; set MALLOC_MMAP_THRESHOLD_ yourself`),
  });
  const blocked = reexecBlocked(facts);
  if (blocked !== null) return { kind: "run", ...notApplied(blocked) };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(facts.env)) if (v !== undefined) env[k] = v;
  const added: string[] = [];
  const adds: string[] = [];
  const flags: string[] = [];
  if (semi.kind === "want") {
    flags.push(semi.flag);
    added.push(MARK_SEMI_SPACE);
    adds.push(SEMI_SPACE.key);
  }
  if (growing.kind === "want") {
    flags.push(growing.flag);
    added.push(MARK_HEAP_GROWING);
    adds.push(HEAP_GROWING.key);
  }
  if (malloc.kind === "want") {
    Object.assign(env, malloc.env);
    added.push(MARK_MALLOC);
    adds.push("node.mallocMmapThresholdKiB");
  }
  env[REEXEC_MARK_ENV] = added.join(",");
  return {
    kind: "reexec",
    argv: [facts.execPath, ...flags, ...facts.execArgv, ...facts.argv.slice(1)],
    env,
    adds,
    fallback: notApplied("not started by validator start or dev, or their re-execution failed (see stderr)"),
  };
}
