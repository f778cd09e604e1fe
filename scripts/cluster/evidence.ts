import type { ClusterNode } from "./node.ts";

/** What one node's `GET /evidence` says: the pieces of equivocation evidence it holds, or why it could not be read. */
export interface EvidenceReport {
  node: string;
  /** Pieces held, or null when the route did not answer 200 (a stopped node, an old binary). */
  count: number | null;
  /** `kind signer slot` of each piece (at most 20), for the violation line. */
  pieces: string[];
  error?: string;
}

/**
 * Reads `GET /evidence` from every node that is running. Honest nodes record
 * proof of any equivocation they saw (issue 11), so a safety run (chaos,
 * failover) asserts that every count is zero, besides scanning the journals.
 */
export async function readEvidence(nodes: readonly ClusterNode[]): Promise<EvidenceReport[]> {
  return Promise.all(
    nodes
      .filter((n) => n.running)
      .map(async (n): Promise<EvidenceReport> => {
        const r = await n.get("/evidence").catch((err: Error) => err);
        if (r instanceof Error) return { node: n.name, count: null, pieces: [], error: r.message };
        if (r.status !== 200) return { node: n.name, count: null, pieces: [], error: `answered ${r.status}` };
        const body = r.body as { count?: unknown; evidence?: { kind?: unknown; signer?: unknown; slot?: unknown }[] };
        const list = Array.isArray(body.evidence) ? body.evidence : [];
        return {
          node: n.name,
          count: typeof body.count === "number" ? body.count : list.length,
          pieces: list.slice(0, 20).map((e) => `${String(e.kind)} signer ${String(e.signer)} slot ${String(e.slot)}`),
        };
      }),
  );
}

/** One violation line per node that holds evidence or could not be asked. */
export function evidenceViolations(reports: readonly EvidenceReport[]): string[] {
  const out: string[] = [];
  for (const r of reports) {
    if (r.count === null) out.push(`${r.node}: GET /evidence ${r.error ?? "failed"}`);
    else if (r.count > 0) out.push(`${r.node}: ${r.count} pieces of equivocation evidence: ${r.pieces.join("; ")}`);
  }
  return out;
}
