import type { ClusterNode, LocalCluster } from "../cluster/index.ts";

/** The fields of GET /status the devnet shows (node/api/backend.ts StatusJson). */
export interface NodeStatusJson {
  finalizedIndex: number;
  view: { index: number; round: number };
  peers: number;
  mempoolTxs: number;
  appHash: string;
}

export interface NodeStatusRow {
  name: string;
  role: ClusterNode["role"];
  apiPort: number;
  pid: number | undefined;
  /** undefined when the node is down or did not answer. */
  status: NodeStatusJson | undefined;
  error: string | undefined;
  /** Highest finalizedIndex in the cluster minus this node's; undefined without a status. */
  lag: number | undefined;
}

/** lag = highest finalized index among the nodes that answered, minus each node's own. */
export function withLag(rows: Omit<NodeStatusRow, "lag">[]): NodeStatusRow[] {
  const indexes = rows.flatMap((r) => (r.status ? [r.status.finalizedIndex] : []));
  const highest = indexes.length > 0 ? Math.max(...indexes) : 0;
  return rows.map((r) => ({ ...r, lag: r.status ? highest - r.status.finalizedIndex : undefined }));
}

export async function collectStatus(cluster: LocalCluster): Promise<NodeStatusRow[]> {
  const rows = await Promise.all(
    cluster.nodes.map(async (node) => {
      const pid = node.pid;
      const base = { name: node.name, role: node.role, apiPort: node.apiPort, pid };
      if (pid === undefined) return { ...base, status: undefined, error: "down" };
      const r = await node.get("/status").catch((err: Error) => ({ status: 0, body: err.message }));
      if (r.status === 200) return { ...base, status: r.body as NodeStatusJson, error: undefined };
      return { ...base, status: undefined, error: `no answer (${String(r.status || r.body).slice(0, 60)})` };
    }),
  );
  return withLag(rows);
}

/** Left-aligned columns, two spaces apart; the header row first. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** One line per node: name, state, index, round, peers, lag, mempool. */
export function formatStatus(rows: readonly NodeStatusRow[]): string {
  const header = ["node", "role", "pid", "api", "index", "round", "peers", "lag", "mempool", "appHash"];
  const body = rows.map((r) => {
    const s = r.status;
    if (!s) return [r.name, r.role, r.pid === undefined ? "-" : String(r.pid), String(r.apiPort), r.error ?? "?"];
    return [
      r.name,
      r.role,
      String(r.pid),
      String(r.apiPort),
      String(s.finalizedIndex),
      String(s.view.round),
      String(s.peers),
      String(r.lag),
      String(s.mempoolTxs),
      s.appHash.slice(0, 12),
    ];
  });
  return formatTable(header, body);
}
