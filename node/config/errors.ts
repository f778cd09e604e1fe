/** Where a config value came from; every error names it. */
export interface ConfigSource {
  kind: "default" | "file" | "env" | "flag";
  /** e.g. "file /home/v/config.toml", "env VALIDATOR_LOG_LEVEL", "flag --set log.level=x" */
  label: string;
}

export interface ConfigIssue {
  /** "section.key", "[section]" or the raw name that was given. */
  key: string;
  /** The value as given (absent when the problem is the name itself). */
  value?: unknown;
  source: ConfigSource;
  problem: string;
  /** What would have been accepted. */
  allowed?: string;
}

function show(value: unknown): string {
  const text = typeof value === "bigint" ? `${value}` : (JSON.stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export function formatIssue(issue: ConfigIssue): string {
  const given = "value" in issue ? ` = ${show(issue.value)}` : "";
  const allowed = issue.allowed ? `; allowed: ${issue.allowed}` : "";
  return `${issue.key}${given} (from ${issue.source.label}): ${issue.problem}${allowed}`;
}

/** Every problem found while loading a config, each with key, value, source and what is allowed. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      issues.length === 1
        ? `invalid configuration: ${formatIssue(issues[0]!)}`
        : `invalid configuration:\n${issues.map((i) => `  - ${formatIssue(i)}`).join("\n")}`,
    );
    this.name = "ConfigError";
    this.issues = issues;
  }

  /** True when every problem came from the command line or the environment (a usage error, not a file error). */
  get fromCommandLine(): boolean {
    return this.issues.every((i) => i.source.kind === "flag" || i.source.kind === "env");
  }
}

/** Edit distance, to suggest the key an operator probably meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The closest candidate (case-insensitive), if it is close enough to be a likely typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
