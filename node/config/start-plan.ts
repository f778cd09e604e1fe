/**
 * What `validator start` and `validator dev` do before the node loads: two
 * settings take effect only when a process starts (node.maxSemiSpaceMiB, a
 * V8 flag, and node.mallocMmapThresholdKiB, a glibc environment variable),
 * so when the process runs without what the config asks for, it re-executes
 * itself once: same pid (pid files, systemd, Docker's PID 1 unchanged), same
 * arguments, the flag and the variable added, the environment marked so that
 * it happens once. Pure: process facts in, a plan out; node/cli/start-action.ts
 * carries it out and the runtime logs what runs.
 */
import { type MallocRun, mallocDecision, mallocNotApplied } from "./malloc-threshold.ts";
import { type SemiSpaceRun, semiSpaceDecision, semiSpaceNotApplied } from "./young-generation.ts";

/** Set in the environment of the re-executed process (what it added): it must not re-execute again. */
export const REEXEC_MARK_ENV = "VALIDATOR_REEXECUTED";
const MARK_SEMI_SPACE = "semi-space";
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
  /** The C library is glibc (only glibc reads MALLOC_MMAP_THRESHOLD_). */
  glibc: boolean;
}

/** This process's facts. */
export function processFacts(): ProcessFacts {
  return {
    execPath: process.execPath,
    execArgv: process.execArgv,
    argv: process.argv,
    env: process.env,
    platform: process.platform,
    glibc: isGlibc(),
  };
}

/** Node's diagnostic report names the glibc it runs on; musl and other systems have none. */
function isGlibc(): boolean {
  if (process.platform !== "linux") return false;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return typeof header?.glibcVersionRuntime === "string";
}

/** The settings the plan applies. */
export interface StartTuning {
  maxSemiSpaceMiB: number;
  mallocMmapThresholdKiB: number;
}

export type StartPlan =
  | { kind: "reexec"; argv: string[]; env: Record<string, string> }
  | { kind: "run"; semiSpace: SemiSpaceRun; malloc: MallocRun };

function hasFlag(args: readonly string[], names: readonly string[]): boolean {
  return args.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
}

/** What to do at start: re-execute with what is missing, or run as the process is (and with what). */
export function startPlan(tuning: StartTuning, facts: ProcessFacts): StartPlan {
  const mark = facts.env[REEXEC_MARK_ENV];
  const reexecuted = mark !== undefined;
  const applied = new Set((mark ?? "").split(","));
  const semi = semiSpaceDecision(
    tuning.maxSemiSpaceMiB,
    facts.execArgv,
    facts.env.NODE_OPTIONS,
    applied.has(MARK_SEMI_SPACE),
    reexecuted,
  );
  const malloc = mallocDecision(
    tuning.mallocMmapThresholdKiB,
    facts.env,
    facts.glibc,
    applied.has(MARK_MALLOC),
    reexecuted,
  );
  if (semi.kind === "run" && malloc.kind === "run") return { kind: "run", semiSpace: semi.run, malloc: malloc.run };

  const blocked = hasFlag(facts.execArgv, NO_REEXEC_FLAGS)
    ? "not re-executed under --inspect-brk, --inspect-wait or --watch"
    : NO_EXECVE_PLATFORMS.includes(facts.platform)
      ? `no re-execution on ${facts.platform}`
      : null;
  if (blocked !== null) {
    return {
      kind: "run",
      semiSpace:
        semi.kind === "run"
          ? semi.run
          : semiSpaceNotApplied(tuning.maxSemiSpaceMiB, `${blocked}; pass --max-semi-space-size yourself`),
      malloc:
        malloc.kind === "run"
          ? malloc.run
          : mallocNotApplied(tuning.mallocMmapThresholdKiB, `${blocked}; set MALLOC_MMAP_THRESHOLD_ yourself`),
    };
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(facts.env)) if (v !== undefined) env[k] = v;
  const added: string[] = [];
  const flags: string[] = [];
  if (semi.kind === "want") {
    flags.push(semi.flag);
    added.push(MARK_SEMI_SPACE);
  }
  if (malloc.kind === "want") {
    Object.assign(env, malloc.env);
    added.push(MARK_MALLOC);
  }
  env[REEXEC_MARK_ENV] = added.join(",");
  return { kind: "reexec", argv: [facts.execPath, ...flags, ...facts.execArgv, ...facts.argv.slice(1)], env };
}
