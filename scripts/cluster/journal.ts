import { readFileSync } from "node:fs";

export interface VoteScan {
  /** "vote sent" lines seen. */
  votes: number;
  /** The hash voted in each slot, keyed by voteSlot(). */
  slots: Map<string, string>;
  /** Human-readable descriptions of two different votes for one slot. */
  conflicts: string[];
}

/**
 * Scans one node's log (all its runs appended) for "vote sent" lines: two
 * lines with the same (vote, index, round) and a different hash would be an
 * equivocation. Re-sending the identical vote after a restart is allowed.
 */
export function scanVotes(logFile: string): VoteScan {
  const seen = new Map<string, string>();
  const conflicts: string[] = [];
  let votes = 0;
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.includes('"vote sent"')) continue;
    let entry: { msg?: unknown; vote?: unknown; index?: unknown; round?: unknown; hash?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // a line cut by kill -9
    }
    if (entry.msg !== "vote sent") continue;
    votes++;
    const slot = voteSlot(String(entry.vote), Number(entry.index), Number(entry.round));
    const hash = String(entry.hash);
    const before = seen.get(slot);
    if (before === undefined) seen.set(slot, hash);
    else if (before !== hash) conflicts.push(`${slot}: ${before} and ${hash}`);
  }
  return { votes, slots: seen, conflicts };
}

/** The key of one vote slot in a VoteScan. */
export function voteSlot(vote: string, index: number, round: number): string {
  return `${vote} ${index}/${round}`;
}
