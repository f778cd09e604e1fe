import { readFileSync } from "node:fs";

/**
 * Scans node logs for two different signatures of one validator key at one
 * slot: the "signed received" journal of the other validators (everything
 * they received: lane blocks, lane votes, prepare/commit/timeout votes, app
 * votes) and the "vote sent" journal of the instances themselves. A line
 * cut by kill -9 is skipped.
 */
export interface ConflictScan {
  /** Journal lines by the validator seen. */
  lines: number;
  conflicts: string[];
}

/**
 * `receivedLogs`: every node's log (their "signed received" lines by `signer`);
 * `sentLogs`: the logs of the instances that sign as `signer` (their "vote sent" lines).
 */
export function scanSignatures(
  receivedLogs: readonly string[],
  sentLogs: readonly string[],
  signer: number,
): ConflictScan {
  const seen = new Map<string, { hash: string; where: string }>();
  const conflicts: string[] = [];
  let lines = 0;
  for (const file of new Set([...receivedLogs, ...sentLogs])) {
    const ownJournal = sentLogs.includes(file);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const received = line.includes('"signed received"');
      const sent = ownJournal && line.includes('"vote sent"');
      if (!received && !sent) continue;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      let key: string;
      if (received) {
        if (e.msg !== "signed received" || Number(e.signer) !== signer) continue;
        key = `${String(e.kind)} ${String(e.slot)}`;
      } else {
        if (e.msg !== "vote sent") continue;
        key = `${String(e.vote)} ${Number(e.index)}/${Number(e.round)}`;
      }
      lines++;
      const hash = String(e.hash);
      const before = seen.get(key);
      if (before === undefined) seen.set(key, { hash, where: file });
      else if (before.hash !== hash && conflicts.length < 100) {
        conflicts.push(`${key}: ${before.hash.slice(0, 16)} (${before.where}) and ${hash.slice(0, 16)} (${file})`);
      }
    }
  }
  return { lines, conflicts };
}

/** Time (ms since epoch) of the first log line at or after `fromOffset` whose msg is `msg`, or undefined. */
export function firstLineTime(file: string, msg: string, fromOffset: number): number | undefined {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch {
    return undefined;
  }
  for (const line of text.subarray(fromOffset).toString("utf8").split("\n")) {
    if (!line.includes(`"${msg}"`)) continue;
    try {
      const e = JSON.parse(line) as { msg?: unknown; time?: unknown };
      if (e.msg === msg && typeof e.time === "number") return e.time;
    } catch {
      // a cut line
    }
  }
  return undefined;
}
