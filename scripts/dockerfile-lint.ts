/**
 * A documented check of the project's Dockerfile (hadolint is not in this
 * machine's Debian archive, and there is no Docker engine to build with).
 * It parses the Dockerfile (line continuations, comments, exec/shell forms)
 * and checks the rules the image must keep:
 *
 *   base-image     FROM node:24.<minor>.<patch>-...slim (pinned, never `latest` or a bare tag)
 *   prod-deps      `npm ci --omit=dev` after COPYing package.json and package-lock.json; no `npm install`
 *   non-root       the last USER is not root (the image's `node` user is fine)
 *   data-volume    a VOLUME holding $VALIDATOR_HOME (the node's keys, config and data)
 *   ports          EXPOSE of the p2p port (VALIDATOR_P2P_LISTEN) and the API port (VALIDATOR_API_PORT)
 *   api-host       VALIDATOR_API_HOST=0.0.0.0 so a published port reaches the API
 *   healthcheck    HEALTHCHECK with --interval/--timeout, exec form, hitting /health (or `validator health`)
 *   entrypoint     ENTRYPOINT + CMD in exec form run `node .../node/main.ts start`
 *   no-add         no ADD (COPY for local files; no remote URLs or archives fetched at build time)
 *   no-secrets     COPY sources are explicit (never `.`), none looks like a key or secret; no ENV/ARG
 *                  secrets; .dockerignore keeps key files, .git and node_modules out of the context
 *   workdir        WORKDIR is absolute and no RUN uses `cd` (hadolint DL3000, DL3003)
 *
 *   node scripts/dockerfile-lint.ts [Dockerfile]    (npm run lint:dockerfile); exit 1 on any failure
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { helpExit, usageExit } from "./cli.ts";

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuations joined. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: { text: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith("#") || (trimmed === "" && current === undefined)) return;
    const continued = trimmed.endsWith("\\");
    const piece = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (current === undefined) current = { text: piece, line: i + 1 };
    else if (piece !== "") current.text += ` ${piece}`;
    if (!continued) {
      const m = /^(\S+)\s*(.*)$/.exec(current.text);
      if (m) out.push({ keyword: m[1]!.toUpperCase(), args: m[2] ?? "", line: current.line });
      current = undefined;
    }
  });
  if (current !== undefined) {
    const m = /^(\S+)\s*(.*)$/.exec(current.text);
    if (m) out.push({ keyword: m[1]!.toUpperCase(), args: m[2] ?? "", line: current.line });
  }
  return out;
}

/** The JSON array of an exec-form instruction, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  const t = args.trim();
  if (!t.startsWith("[")) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
  } catch {
    return undefined;
  }
}

/** ENV key=value pairs (the `ENV a=b c=d` form; quotes allowed). */
export function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const m of args.matchAll(re)) {
    const v = m[2] ?? "";
    env[m[1]!] = v.startsWith('"') ? v.slice(1, -1) : v;
  }
  if (Object.keys(env).length === 0) {
    // Legacy `ENV key value`.
    const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$/.exec(args.trim());
    if (legacy) env[legacy[1]!] = legacy[2]!;
  }
  return env;
}

/** Splits `--flag=value` options off the front of an instruction's args (COPY --chown, HEALTHCHECK --interval). */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    if (!m) break;
    flags[m[1]!] = m[2] ?? "";
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

export interface RuleResult {
  rule: string;
  description: string;
  problems: string[];
}

export interface LintInput {
  dockerfile: string;
  /** Contents of .dockerignore; undefined when there is none. */
  dockerignore: string | undefined;
}

const SECRET_PATH = /(^|\/)(\.env|id_rsa|id_ed25519)|key\.json$|_key(\.|$)|secret|\.pem$|\.p12$|\.key$/i;
const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL/i;

function copySources(ins: Instruction): string[] {
  const { rest } = splitFlags(ins.args);
  const parts = execForm(rest) ?? rest.split(/\s+/).filter(Boolean);
  return parts.slice(0, -1);
}

/** Runs every rule; a rule passes when its `problems` is empty. */
export function lintDockerfile(input: LintInput): RuleResult[] {
  const ins = parseDockerfile(input.dockerfile);
  const all = (kw: string) => ins.filter((i) => i.keyword === kw);
  const last = (kw: string) => all(kw).at(-1);
  const env: Record<string, string> = Object.assign({}, ...all("ENV").map((i) => parseEnv(i.args)));
  const results: RuleResult[] = [];
  const rule = (name: string, description: string, check: (problems: string[]) => void) => {
    const problems: string[] = [];
    check(problems);
    results.push({ rule: name, description, problems });
  };

  rule("base-image", "FROM a pinned Node 24 slim tag", (p) => {
    const froms = all("FROM");
    if (froms.length === 0) return void p.push("no FROM");
    const image =
      froms
        .at(-1)!
        .args.split(/\s+/)
        .find((w) => !w.startsWith("--")) ?? "";
    if (!/^node:24\.\d+\.\d+-(?:[a-z]+-)?slim(?:@sha256:[0-9a-f]{64})?$/.test(image)) {
      p.push(`FROM ${image}: expected node:24.<minor>.<patch>[-<debian>]-slim (a pinned Node 24 slim tag)`);
    }
    if (/:latest\b|^[^:]+$/.test(image)) p.push(`FROM ${image}: never latest or an untagged image`);
  });

  rule("prod-deps", "npm ci --omit=dev from the lockfile", (p) => {
    const runs = all("RUN");
    const ci = runs.find((r) => /\bnpm ci\b/.test(r.args));
    if (!ci) p.push("no RUN npm ci");
    else if (!/--omit=dev\b|--omit dev\b/.test(ci.args)) p.push(`line ${ci.line}: npm ci without --omit=dev`);
    for (const r of runs) {
      if (/\bnpm (install|i)\b/.test(r.args)) p.push(`line ${r.line}: npm install (use npm ci: the lockfile, exactly)`);
    }
    if (ci) {
      const copiedBefore = ins
        .filter((i) => i.keyword === "COPY" && i.line < ci.line)
        .flatMap(copySources)
        .map((s) => s.replace(/^\.\//, ""));
      for (const f of ["package.json", "package-lock.json"]) {
        if (!copiedBefore.includes(f)) p.push(`${f} is not copied before npm ci`);
      }
    }
  });

  rule("non-root", "runs as a non-root USER", (p) => {
    const user = last("USER");
    if (!user) return void p.push("no USER: the node would run as root");
    const name = user.args.trim().split(":")[0];
    if (name === "root" || name === "0") p.push(`USER ${user.args}: root`);
  });

  rule("data-volume", "a VOLUME holds the node's home ($VALIDATOR_HOME)", (p) => {
    const volumes = all("VOLUME").flatMap((v) => execForm(v.args) ?? v.args.split(/\s+/).filter(Boolean));
    if (volumes.length === 0) return void p.push("no VOLUME");
    const home = env.VALIDATOR_HOME;
    if (!home) p.push("ENV VALIDATOR_HOME is not set, so the home is not on a known path");
    else if (!volumes.includes(home)) p.push(`VALIDATOR_HOME=${home} is not a VOLUME (${volumes.join(", ")})`);
  });

  rule("ports", "EXPOSE the p2p and API ports", (p) => {
    const exposed = new Set(all("EXPOSE").flatMap((e) => e.args.split(/\s+/).map((x) => Number(x.split("/")[0]))));
    const p2p = Number(/\/tcp\/(\d+)/.exec(env.VALIDATOR_P2P_LISTEN ?? "")?.[1] ?? 26656);
    const api = Number(env.VALIDATOR_API_PORT ?? 26657);
    if (!exposed.has(p2p)) p.push(`p2p port ${p2p} is not EXPOSEd`);
    if (!exposed.has(api)) p.push(`API port ${api} is not EXPOSEd`);
  });

  rule("api-host", "the API and p2p listen on all interfaces inside the container", (p) => {
    if (env.VALIDATOR_API_HOST !== "0.0.0.0") p.push("ENV VALIDATOR_API_HOST=0.0.0.0 is missing");
    if (env.VALIDATOR_P2P_LISTEN !== undefined && !env.VALIDATOR_P2P_LISTEN.startsWith("/ip4/0.0.0.0/")) {
      p.push(`VALIDATOR_P2P_LISTEN=${env.VALIDATOR_P2P_LISTEN} does not listen on 0.0.0.0`);
    }
  });

  rule("healthcheck", "HEALTHCHECK on GET /health, exec form, with interval and timeout", (p) => {
    const hc = last("HEALTHCHECK");
    if (!hc) return void p.push("no HEALTHCHECK");
    const { flags, rest } = splitFlags(hc.args);
    if (/^NONE\b/i.test(rest)) return void p.push("HEALTHCHECK NONE");
    if (!/^CMD\s/i.test(rest)) return void p.push("HEALTHCHECK without CMD");
    const cmd = execForm(rest.replace(/^CMD\s+/i, ""));
    if (!cmd) p.push("HEALTHCHECK CMD is not in exec form (JSON array)");
    else if (!cmd.join(" ").includes("/health") && cmd.at(-1) !== "health") {
      p.push("HEALTHCHECK CMD does not request /health (directly or through `validator health`)");
    }
    for (const f of ["interval", "timeout"]) if (!(f in flags)) p.push(`HEALTHCHECK has no --${f}`);
  });

  rule("entrypoint", "ENTRYPOINT + CMD (exec form) run `validator start`", (p) => {
    const ep = last("ENTRYPOINT");
    const cmd = last("CMD");
    const epArgv = ep ? execForm(ep.args) : [];
    const cmdArgv = cmd ? execForm(cmd.args) : [];
    if (ep && !epArgv) p.push("ENTRYPOINT is not in exec form (signals would go to a shell, not the node)");
    if (cmd && !cmdArgv) p.push("CMD is not in exec form");
    const argv = [...(epArgv ?? []), ...(cmdArgv ?? [])];
    const main = argv.findIndex((a) => a.endsWith("node/main.ts") || a === "validator");
    if (argv[0] !== "node" && argv[0] !== "validator") p.push(`runs ${argv[0] ?? "nothing"}, not node`);
    if (main < 0 || argv[main + 1] !== "start") p.push(`runs "${argv.join(" ")}", not "... node/main.ts start"`);
  });

  rule("no-add", "no ADD (COPY local files; nothing fetched at build time)", (p) => {
    for (const a of all("ADD")) {
      p.push(`line ${a.line}: ADD ${a.args}${/https?:\/\//.test(a.args) ? " (a remote URL)" : ""}: use COPY`);
    }
  });

  rule("no-secrets", "no keys or secrets in the image or the build context", (p) => {
    for (const c of all("COPY")) {
      for (const src of copySources(c)) {
        if (src === "." || src === "./" || src === "*") p.push(`line ${c.line}: COPY ${src} copies the whole context`);
        if (SECRET_PATH.test(src)) p.push(`line ${c.line}: COPY ${src} looks like a key or secret`);
      }
    }
    for (const i of [...all("ENV"), ...all("ARG")]) {
      for (const name of Object.keys(i.keyword === "ENV" ? parseEnv(i.args) : { [i.args.split("=")[0]!]: "" })) {
        if (SECRET_NAME.test(name)) p.push(`line ${i.line}: ${i.keyword} ${name} puts a secret into the image`);
      }
    }
    if (input.dockerignore === undefined) return void p.push("no .dockerignore");
    const ignored = input.dockerignore
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const needed of [".git", "node_modules", "**/validator_key.json", "**/node_key.json"]) {
      if (!ignored.includes(needed)) p.push(`.dockerignore does not exclude ${needed}`);
    }
  });

  rule("workdir", "absolute WORKDIR; no `cd` in RUN", (p) => {
    for (const w of all("WORKDIR"))
      if (!w.args.trim().startsWith("/")) p.push(`line ${w.line}: WORKDIR ${w.args} is relative`);
    for (const r of all("RUN")) if (/(^|&&|;)\s*cd\s/.test(r.args)) p.push(`line ${r.line}: cd in RUN (use WORKDIR)`);
  });

  return results;
}

export function formatLint(results: readonly RuleResult[]): string {
  return results
    .map((r) =>
      r.problems.length === 0
        ? `ok    ${r.rule.padEnd(12)} ${r.description}`
        : `FAIL  ${r.rule.padEnd(12)} ${r.description}\n${r.problems.map((x) => `        - ${x}`).join("\n")}`,
    )
    .join("\n");
}

const USAGE = `usage: npm run lint:dockerfile [-- DOCKERFILE]
  Checks the Dockerfile (default: the repository's) and its .dockerignore against the project's rules;
  exit 1 when one fails.
`;

if (import.meta.main) {
  const argv = process.argv.slice(2);
  helpExit(USAGE, argv);
  const option = argv.find((a) => a.startsWith("-"));
  if (option !== undefined) usageExit("lint:dockerfile", USAGE, `unknown option ${option}`);
  if (argv.length > 1) usageExit("lint:dockerfile", USAGE, "one Dockerfile at most");
  const file = resolve(argv[0] ?? join(import.meta.dirname, "..", "Dockerfile"));
  if (!existsSync(file)) usageExit("lint:dockerfile", USAGE, `${file}: no such file`);
  const ignoreFile = join(dirname(file), ".dockerignore");
  const results = lintDockerfile({
    dockerfile: readFileSync(file, "utf8"),
    dockerignore: existsSync(ignoreFile) ? readFileSync(ignoreFile, "utf8") : undefined,
  });
  const failed = results.filter((r) => r.problems.length > 0).length;
  process.stdout.write(`${file}\n${formatLint(results)}\n`);
  process.stdout.write(
    failed === 0 ? `all ${results.length} rules pass\n` : `${failed} of ${results.length} rules fail\n`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
}
