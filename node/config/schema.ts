import { z } from "zod";
import {
  booleanKey,
  enumKey,
  hostKey,
  idKey,
  intKey,
  type KeyMeta,
  multiaddrListKey,
  nameKey,
  numberKey,
  pathKey,
  powerOfTwoOrZeroKey,
  redisUrlListKey,
  urlKey,
  zeroOrIntKey,
} from "./kinds.ts";

/**
 * The schema of config.toml. It has no defaults of its own: the defaults are
 * config/default.toml, which must validate against this schema in full (a
 * test keeps the two in step). Every section is strict, so a typo is an
 * error, never a silently ignored key.
 */
const MiB = 1024 * 1024;

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export const LOG_FORMATS = ["json", "pretty"] as const;
/**
 * The longest CPU profile api.cpuProfileMaxSeconds allows: under the 300 s
 * an HTTP client such as Node's fetch waits for response headers (which
 * come after the profile), and about 240,000 samples at 1 ms, a few MB of
 * JSON built on the event loop when the profile ends.
 */
export const MAX_CPU_PROFILE_SECONDS = 240;

export const ConfigSchema = z
  .object({
    node: z
      .object({
        moniker: nameKey(64),
        validatorKeyFile: pathKey({ optional: true }),
        nodeKeyFile: pathKey({ optional: false }),
        genesisFile: pathKey({ optional: false }),
        doubleSignCheck: booleanKey(),
        maxSemiSpaceMiB: powerOfTwoOrZeroKey(256, " (0 = V8's default)"),
        heapGrowingPercent: zeroOrIntKey(10, 300, " (0 = V8's adaptive factor)"),
        mallocMmapThresholdKiB: zeroOrIntKey(64, 32 * 1024, " (0 = glibc's adaptive default)"),
      })
      .strict(),
    p2p: z
      .object({
        listen: multiaddrListKey({ min: 1, max: 16, withPeerId: false }),
        peers: multiaddrListKey({ min: 0, max: 1024, withPeerId: true }),
        maxMessageBytes: intKey(64 * 1024, 64 * MiB),
        redialMaxBackoffMs: intKey(100, 600_000),
        maxConnections: intKey(8, 100_000),
        banMs: intKey(1000, 86_400_000),
        syncMaxInflightPerPeer: intKey(1, 256),
        syncMaxRequestsPerSecond: intKey(1, 100_000),
        syncMaxInflight: intKey(1, 100_000),
        syncMaxInflightBytes: intKey(MiB, 64 * 1024 * MiB),
        syncReservedPercent: intKey(0, 100),
      })
      .strict(),
    api: z
      .object({
        enabled: booleanKey(),
        host: hostKey(),
        port: intKey(0, 65_535, " (0 = any free port)"),
        maxBodyBytes: intKey(1024, 64 * MiB),
        maxConnections: intKey(1, 100_000),
        maxInflightPerConnection: intKey(1, 1024),
        maxInflight: intKey(1, 100_000),
        maxBodyBytesInFlight: intKey(1024, 4096 * MiB),
        requestTimeoutMs: intKey(100, 600_000),
        headersTimeoutMs: intKey(100, 600_000),
        idleTimeoutMs: intKey(100, 3_600_000),
        keepAliveTimeoutMs: intKey(100, 600_000),
        metricsCacheMs: intKey(0, 60_000, " (0 = render on every request)"),
        maxEventLoopDelayMs: intKey(0, 60_000, " (0 = never shed for event-loop delay)"),
        maxEventLoopUtilization: numberKey(0.1, 1),
        maxEventStreams: intKey(0, 10_000, " (0 = GET /events refused)"),
        eventBufferEvents: intKey(1, 100_000),
        cpuProfileMaxSeconds: intKey(0, MAX_CPU_PROFILE_SECONDS, " (0 = GET /debug/cpu-profile off)"),
      })
      .strict(),
    consensus: z
      .object({
        viewTimeoutMs: intKey(50, 600_000),
        maxViewTimeoutMs: intKey(50, 3_600_000),
        viewTimeoutGrowth: numberKey(1, 4),
        fetchRetryMs: intKey(10, 60_000),
        proposeGatherMs: intKey(0, 1000, " (0 = propose at the first new LaneQC)"),
      })
      .strict(),
    lanes: z
      .object({
        maxBlockDelayMs: intKey(1, 60_000),
        maxAdaptiveBlockDelayMs: intKey(1, 60_000),
        maxBlockBytes: intKey(1024, 4 * MiB),
        maxWindowBytes: intKey(1024, 1024 * MiB),
        sendWhenIdle: booleanKey(),
        mempoolMaxTxs: intKey(1, 1_000_000),
        mempoolMaxBytes: intKey(1024, 1024 * MiB),
        maxBufferedAhead: intKey(1, 1024),
        retransmitMs: intKey(10, 60_000),
      })
      .strict(),
    execution: z
      .object({
        anchorEveryIndexes: intKey(1, 1_000_000),
        fetchRetryMs: intKey(10, 60_000),
      })
      .strict(),
    storage: z
      .object({
        dataDir: pathKey({ optional: false }),
        verifyTablesAtStart: booleanKey(),
        deepCheckBlocksAtStart: intKey(0, 10_000_000),
        scrubBytesPerSecond: intKey(0, 1024 * MiB, " (0 = no background scrub)"),
        retainIndexes: intKey(0, Number.MAX_SAFE_INTEGER, " (0 = keep every finalized global block)"),
        pruneBatchIndexes: intKey(1, 4096),
        writeBufferMiB: intKey(1, 256),
      })
      .strict(),
    log: z
      .object({
        level: enumKey(LOG_LEVELS),
        format: enumKey(LOG_FORMATS),
      })
      .strict(),
    metrics: z
      .object({
        enabled: booleanKey(),
        statusIntervalMs: intKey(0, 3_600_000, " (0 = no status line)"),
      })
      .strict(),
    attestation: z
      .object({
        mainNodeUrl: urlKey({ optional: true }),
        pollIntervalMs: intKey(50, 3_600_000),
        requestTimeoutMs: intKey(10, 600_000),
        maxBackoffMs: intKey(50, 3_600_000),
        repushMs: intKey(10, 3_600_000),
        voteWindow: intKey(1, 1024),
      })
      .strict(),
    ha: z
      .object({
        enabled: booleanKey(),
        redisUrls: redisUrlListKey({ min: 0, max: 15 }),
        leaseTtlMs: intKey(500, 600_000),
        renewEveryMs: intKey(50, 300_000),
        publishTimeoutMs: intKey(10, 60_000),
        connectTimeoutMs: intKey(10, 60_000),
        instanceId: idKey(64),
      })
      .strict(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.api.headersTimeoutMs > c.api.requestTimeoutMs) {
      ctx.addIssue({
        code: "custom",
        path: ["api", "headersTimeoutMs"],
        message: `must not be above api.requestTimeoutMs (${c.api.requestTimeoutMs})`,
      });
    }
    if (c.api.maxBodyBytesInFlight < c.api.maxBodyBytes) {
      ctx.addIssue({
        code: "custom",
        path: ["api", "maxBodyBytesInFlight"],
        message: `must be at least api.maxBodyBytes (${c.api.maxBodyBytes})`,
      });
    }
    for (const issue of haConfigProblems(c.ha))
      ctx.addIssue({ code: "custom", path: ["ha", issue.key], message: issue.message });
    if (c.consensus.maxViewTimeoutMs < c.consensus.viewTimeoutMs) {
      ctx.addIssue({
        code: "custom",
        path: ["consensus", "maxViewTimeoutMs"],
        message: `must not be below consensus.viewTimeoutMs (${c.consensus.viewTimeoutMs})`,
      });
    }
  });

/**
 * Cross-key rules of [ha] (DESIGN section 14). The lease needs a quorum of
 * floor(N/2)+1 of N redis-servers; renewal must happen well inside the TTL
 * and a publish or connect attempt must fit inside one renewal period, or a
 * slow node could hold the leader past its lease.
 */
export function haConfigProblems(ha: {
  enabled: boolean;
  redisUrls: readonly string[];
  leaseTtlMs: number;
  renewEveryMs: number;
  publishTimeoutMs: number;
  connectTimeoutMs: number;
}): { key: string; message: string }[] {
  const out: { key: string; message: string }[] = [];
  if (ha.enabled && ha.redisUrls.length === 0) {
    out.push({ key: "redisUrls", message: "ha.enabled = true needs at least one redis URL (3 recommended: quorum 2)" });
  }
  if (ha.renewEveryMs * 3 > ha.leaseTtlMs) {
    out.push({
      key: "renewEveryMs",
      message: `must be at most a third of ha.leaseTtlMs (${ha.leaseTtlMs}) so that a lease survives a missed renewal`,
    });
  }
  if (ha.publishTimeoutMs >= ha.renewEveryMs) {
    out.push({ key: "publishTimeoutMs", message: `must be below ha.renewEveryMs (${ha.renewEveryMs})` });
  }
  if (ha.connectTimeoutMs >= ha.renewEveryMs) {
    out.push({ key: "connectTimeoutMs", message: `must be below ha.renewEveryMs (${ha.renewEveryMs})` });
  }
  return out;
}

export type Config = z.infer<typeof ConfigSchema>;
export type SectionName = keyof Config;
export type LogLevel = Config["log"]["level"];
export type LogFormat = Config["log"]["format"];

export interface KeyInfo extends KeyMeta {
  section: string;
  key: string;
  /** "section.key" */
  name: string;
  /** VALIDATOR_SECTION_KEY */
  envVar: string;
}

/** viewTimeoutMs -> VIEW_TIMEOUT_MS */
export function screamingSnake(camel: string): string {
  // A unit written MiB or KiB is one word: maxSemiSpaceMiB -> MAX_SEMI_SPACE_MIB.
  return camel
    .replace(/([MK])iB/g, "$1ib")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase();
}

function collectKeys(): Map<string, KeyInfo> {
  const keys = new Map<string, KeyInfo>();
  for (const [section, sectionSchema] of Object.entries(ConfigSchema.shape)) {
    for (const [key, keySchema] of Object.entries(sectionSchema.shape)) {
      const meta = (keySchema as z.ZodType).meta() as KeyMeta | undefined;
      if (!meta) throw new Error(`config schema: ${section}.${key} was built without a key builder`);
      const name = `${section}.${key}`;
      keys.set(name, {
        ...meta,
        section,
        key,
        name,
        envVar: `VALIDATOR_${screamingSnake(section)}_${screamingSnake(key)}`,
      });
    }
  }
  return keys;
}

/** Every config key by "section.key", in schema order. */
export const CONFIG_KEYS: ReadonlyMap<string, KeyInfo> = collectKeys();
export const SECTIONS: readonly string[] = Object.keys(ConfigSchema.shape);
