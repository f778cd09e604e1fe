/**
 * Summarizes a V8 .cpuprofile (what `node --cpu-prof` writes): self time per
 * function and per package, from the samples and their time deltas.
 *
 *   node scripts/bench/cpu-profile.ts FILE.cpuprofile [--top 20]
 */
import { readFileSync } from "node:fs";
import { optionValue, parseScriptCommand, positiveInteger, usageExit } from "../cli.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  /** Package or area: node_modules package, node/<folder>, node: internals, or (program)/(gc)/(idle). */
  area: string;
  selfMs: number;
  /** Share of the non-idle time. */
  share: number;
}

/** A stretch of a profile, in ms from its start (V8's startTime: when the process began profiling). */
export interface ProfileWindow {
  fromMs: number;
  toMs: number;
}

export interface ProfileSummary {
  /** The stretch summarized, when not the whole profile. */
  window?: ProfileWindow;
  totalMs: number;
  idleMs: number;
  busyMs: number;
  functions: SelfTime[];
  /** The project's own functions (node/...) by inclusive time: what they and their callees cost. */
  ownInclusive: SelfTime[];
  areas: { area: string; selfMs: number; share: number }[];
}

/** A native function without a name (V8's pseudo-frames, "(program)" and the like, have one). */
function isUnnamedNative(node: ProfileNode | undefined): boolean {
  return node !== undefined && node.callFrame.url === "" && node.callFrame.functionName === "";
}

/** Where a function lives: an npm package, a folder of node/, a Node internal or a V8 pseudo-frame. */
export function areaOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/(node|scripts)\/([^/]+)\//.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (url.startsWith("node:")) return url.split("/")[0]!;
  if (url.startsWith("wasm://")) return "(wasm)";
  return url.split("/").at(-1) ?? url;
}

/**
 * Self and inclusive time per function and area. With a window, only the
 * samples taken in it count: a node profiled from its start (`npm run devnet
 * -- restart N --cpu-prof`) spends its first seconds on recovery and the deep
 * check of recent blocks, which are not the load's cost.
 */
export function summarizeProfile(profile: CpuProfile, top = 20, window?: ProfileWindow): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let atUs = 0;
  profile.samples.forEach((id, i) => {
    const deltaUs = Math.max(0, profile.timeDeltas[i] ?? 0);
    atUs += deltaUs;
    if (window !== undefined && (atUs < window.fromMs * 1000 || atUs >= window.toMs * 1000)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + deltaUs);
  });
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fns = new Map<string, { name: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    // An unnamed native frame (a binding such as classic-level's batch write,
    // as an in-process profile shows it) counts for the function that called it.
    let at = id;
    while (isUnnamedNative(byId.get(at)) && parent.has(at)) at = parent.get(at)!;
    const node = byId.get(at);
    if (!node) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const area = areaOf(url, functionName);
    const file = url.split("/").at(-1) ?? "";
    const name = `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
    const key = `${name}|${area}`;
    const entry = fns.get(key) ?? { name, area, us: 0 };
    entry.us += us;
    fns.set(key, entry);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  // Inclusive time of our own functions: each sample counts once for every distinct node/ function on its stack.
  const inclusive = new Map<string, { name: string; area: string; us: number }>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame;
      if (!f) break;
      const area = areaOf(f.url, f.functionName);
      if (!area.startsWith("node/")) continue;
      const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").at(-1)}:${f.lineNumber + 1}`;
      if (seen.has(name)) continue;
      seen.add(name);
      const entry = inclusive.get(name) ?? { name, area, us: 0 };
      entry.us += us;
      inclusive.set(name, entry);
    }
  }
  const busyUs = totalUs - idleUs;
  const share = (us: number) => (busyUs > 0 ? us / busyUs : 0);
  return {
    ...(window !== undefined && { window }),
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, area: f.area, selfMs: f.us / 1000, share: share(f.us) })),
    ownInclusive: [...inclusive.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, area: f.area, selfMs: f.us / 1000, share: share(f.us) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => ({ area, selfMs: us / 1000, share: share(us) })),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)}%`;
  const lines = [
    `profile: ${s.window ? `${windowText(s.window)}, ` : ""}${(s.totalMs / 1000).toFixed(1)} s sampled, busy ${(s.busyMs / 1000).toFixed(1)} s (${pct(s.totalMs > 0 ? s.busyMs / s.totalMs : 0).trim()}), idle ${(s.idleMs / 1000).toFixed(1)} s`,
    "self time by area (share of busy time):",
    ...s.areas.map((a) => `  ${pct(a.share)}  ${a.selfMs.toFixed(0).padStart(7)} ms  ${a.area}`),
    "top functions by self time (an unnamed native call counts for its caller):",
    ...s.functions.map((f) => `  ${pct(f.share)}  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  [${f.area}]`),
    "the project's functions by inclusive time (self + callees):",
    ...s.ownInclusive.map((f) => `  ${pct(f.share)}  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  [${f.area}]`),
  ];
  return lines.join("\n");
}

/** "2.0-6.0 s into the profile", or "from 2.0 s into the profile" for a window open at its end. */
function windowText(w: ProfileWindow): string {
  const from = (w.fromMs / 1000).toFixed(1);
  return Number.isFinite(w.toMs)
    ? `${from}-${(w.toMs / 1000).toFixed(1)} s into the profile`
    : `from ${from} s into the profile`;
}

export function readProfile(file: string): CpuProfile {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  if (!Array.isArray(p.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas)) {
    throw new Error(`${file} is not a V8 CPU profile (nodes, samples, timeDeltas)`);
  }
  return p;
}

const USAGE = `usage: node scripts/bench/cpu-profile.ts FILE.cpuprofile [--top N] [--from S] [--to S]
  Summarizes a V8 CPU profile (GET /debug/cpu-profile, node --cpu-prof, or the bench's --profile):
  busy and idle time, self time by package, the top N functions by self time
  (default 20) and the project's functions by inclusive time.
  --from S / --to S: only the samples taken that many seconds into the profile (say, to
  leave out the start-up of a node profiled with npm run devnet -- restart N --cpu-prof).
`;

if (import.meta.main) {
  const cli = { script: "cpu-profile", usage: USAGE };
  const { values, positionals } = parseScriptCommand({
    ...cli,
    options: { top: { type: "string" }, from: { type: "string" }, to: { type: "string" } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) usageExit(cli.script, USAGE, "give exactly one profile file");
  const top = values.top === undefined ? 20 : optionValue(cli, () => positiveInteger("top", values.top!));
  const fromS = values.from === undefined ? 0 : optionValue(cli, () => seconds("from", values.from!));
  const toS = values.to === undefined ? Number.POSITIVE_INFINITY : optionValue(cli, () => seconds("to", values.to!));
  if (!(toS > fromS)) usageExit(cli.script, USAGE, `--to ${values.to} must be after --from ${values.from ?? 0}`);
  let profile: CpuProfile;
  try {
    profile = readProfile(positionals[0]!);
  } catch (err) {
    // A missing or unreadable file is named in one line, not a stack trace.
    process.stderr.write(`cpu-profile: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const window =
    values.from === undefined && values.to === undefined ? undefined : { fromMs: fromS * 1000, toMs: toS * 1000 };
  process.stdout.write(`${formatProfile(summarizeProfile(profile, top, window))}\n`);
}

/** A time in seconds from the profile's start (0 or more). */
function seconds(name: string, text: string): number {
  const v = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(v))
    throw new Error(`--${name} ${text}: expected seconds (0 or more)`);
  return v;
}
