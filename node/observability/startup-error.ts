/**
 * A start-up failure an operator can cause and fix (issue 15): the file, key
 * or port it concerns, what is wrong, and what to do. The CLI prints it as
 * one line on stderr and one JSON log line with the same words, never with a
 * stack trace.
 *
 * Any module can raise one, or raise its own error class carrying the same
 * three fields (`subject`, `problem`, `remedy`: see `asOperatorFacing`), so
 * storage errors reach the operator in this shape without depending on the
 * runtime or the CLI.
 */
export class StartupError extends Error {
  /** The file, directory, config key or port concerned, e.g. "api.port 26657". */
  readonly subject: string;
  /** What is wrong, in words. */
  readonly problem: string;
  /** What the operator should do. */
  readonly remedy: string;

  constructor(subject: string, problem: string, remedy: string) {
    super(formatOperatorLine({ subject, problem, remedy }));
    this.name = "StartupError";
    this.subject = subject;
    this.problem = problem;
    this.remedy = remedy;
  }
}

export interface OperatorFacing {
  subject: string;
  problem: string;
  remedy: string;
}

/** The one line an operator reads: "<subject>: <problem>; remedy: <remedy>". */
export function formatOperatorLine(e: OperatorFacing): string {
  return `${e.subject}: ${e.problem}; remedy: ${e.remedy}`;
}

/**
 * The three fields of an error that carries them (a StartupError or any
 * duck-typed error), else null. Storage's integrity errors name a `path`
 * (and a `keyRange`, and what was `lost`) instead of a subject: they are
 * read the same way.
 */
export function asOperatorFacing(err: unknown): OperatorFacing | null {
  if (typeof err !== "object" || err === null) return null;
  const e = err as Partial<Record<"subject" | "problem" | "remedy" | "path" | "keyRange" | "lost", unknown>>;
  if (typeof e.problem !== "string" || typeof e.remedy !== "string") return null;
  if (typeof e.subject === "string") return { subject: e.subject, problem: e.problem, remedy: e.remedy };
  if (typeof e.path === "string") {
    const range = typeof e.keyRange === "string" && e.keyRange !== "*" ? ` (${e.keyRange})` : "";
    const lost = typeof e.lost === "string" && e.lost !== "" ? `; lost: ${e.lost}` : "";
    return { subject: `${e.path}${range}`, problem: `${e.problem}${lost}`, remedy: e.remedy };
  }
  return null;
}
