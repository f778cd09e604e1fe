import { execFileSync } from "node:child_process";

/**
 * Linux network namespaces for the chaos runner: one namespace per node, a
 * veth pair between every two nodes (the links a partition cuts), and a hub
 * namespace where the runner itself lives, with one more veth pair to each
 * node for its HTTP API (never cut). Nothing is routed or forwarded: node i
 * reaches node j only over their own link, so `ip link set down` on it cuts
 * exactly that pair. Every name starts with `vch<pid>-` (the pid of the
 * runner that made it), so a later run can tell stale namespaces (their
 * runner is gone) from a concurrent run's and remove them.
 *
 * Addresses: the API link of node i is 10.213.i.0/24 (hub .1, node .2); the
 * link between nodes i < j is 10.(100+i).j.0/24 (i .1, j .2).
 */

export const NETNS_PREFIX = "vch";

export interface Topology {
  /** `vch<pid>` */
  prefix: string;
  hub: string;
  /** Namespace of node i. */
  nodes: string[];
}

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function tryIp(args: string[]): boolean {
  try {
    ip(args);
    return true;
  } catch {
    return false;
  }
}

/** Null when namespaces work here (root, iproute2, kernel support); else why not. */
export function netnsUnavailable(): string | null {
  const probe = `${NETNS_PREFIX}${process.pid}-probe`;
  try {
    ip(["netns", "add", probe]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return (e.stderr ?? e.message).trim().split("\n")[0] ?? "ip netns add failed";
  }
  tryIp(["netns", "del", probe]);
  return null;
}

/** Namespaces made by chaos runners, with the runner's pid. */
export function chaosNamespaces(): { name: string; pid: number }[] {
  let out: string;
  try {
    out = ip(["netns", "list"]);
  } catch {
    return [];
  }
  const found: { name: string; pid: number }[] = [];
  for (const line of out.split("\n")) {
    const name = line.trim().split(/\s+/)[0] ?? "";
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name);
    if (m) found.push({ name, pid: Number(m[1]) });
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes one namespace: first the processes in it (ours: a runner started them), then the namespace. */
export function removeNamespace(name: string): void {
  try {
    for (const p of ip(["netns", "pids", name]).split("\n")) {
      const pid = Number(p.trim());
      if (Number.isInteger(pid) && pid > 0) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
    }
  } catch {
    // the namespace is gone already
  }
  tryIp(["netns", "del", name]);
}

/** Removes namespaces left by runners that are no longer running; returns their names. */
export function removeStale(): string[] {
  const stale = chaosNamespaces().filter((n) => n.pid !== process.pid && !alive(n.pid));
  for (const n of stale) removeNamespace(n.name);
  return stale.map((n) => n.name);
}

export function apiAddress(i: number): string {
  return `10.213.${i}.2`;
}

/** The address of node `i` on its link to node `j`. */
export function linkAddress(i: number, j: number): string {
  return i < j ? `10.${100 + i}.${j}.1` : `10.${100 + j}.${i}.2`;
}

/** Creates the hub, one namespace per node, the API links and a full mesh of node links (all up). */
export function createTopology(count: number): Topology {
  if (count < 2 || count > 32) throw new Error(`${count} nodes: the topology takes 2 to 32`);
  const prefix = `${NETNS_PREFIX}${process.pid}`;
  const t: Topology = {
    prefix,
    hub: `${prefix}-hub`,
    nodes: Array.from({ length: count }, (_, i) => `${prefix}-n${i}`),
  };
  try {
    for (const ns of [t.hub, ...t.nodes]) {
      ip(["netns", "add", ns]);
      ip(["-n", ns, "link", "set", "lo", "up"]);
    }
    for (let i = 0; i < count; i++) {
      const ns = t.nodes[i]!;
      ip(["link", "add", `h${i}`, "netns", t.hub, "type", "veth", "peer", "name", "hub", "netns", ns]);
      ip(["-n", t.hub, "addr", "add", `10.213.${i}.1/24`, "dev", `h${i}`]);
      ip(["-n", ns, "addr", "add", `${apiAddress(i)}/24`, "dev", "hub"]);
      ip(["-n", t.hub, "link", "set", `h${i}`, "up"]);
      ip(["-n", ns, "link", "set", "hub", "up"]);
      for (let j = i + 1; j < count; j++) {
        const other = t.nodes[j]!;
        ip(["link", "add", `m${j}`, "netns", ns, "type", "veth", "peer", "name", `m${i}`, "netns", other]);
        ip(["-n", ns, "addr", "add", `${linkAddress(i, j)}/24`, "dev", `m${j}`]);
        ip(["-n", other, "addr", "add", `${linkAddress(j, i)}/24`, "dev", `m${i}`]);
        ip(["-n", ns, "link", "set", `m${j}`, "up"]);
        ip(["-n", other, "link", "set", `m${i}`, "up"]);
      }
    }
  } catch (err) {
    destroyTopology(t);
    const e = err as { stderr?: string; message: string };
    throw new Error(`cannot build the network namespaces: ${(e.stderr ?? e.message).trim()}`);
  }
  return t;
}

/** Removes every namespace of the topology (veth pairs go with them). */
export function destroyTopology(t: Topology): void {
  for (const ns of [...t.nodes, t.hub]) removeNamespace(ns);
}

/** Cuts (down) or restores (up) the link between nodes i and j. */
export function setLink(t: Topology, i: number, j: number, up: boolean): void {
  ip(["-n", t.nodes[i]!, "link", "set", `m${j}`, up ? "up" : "down"]);
  ip(["-n", t.nodes[j]!, "link", "set", `m${i}`, up ? "up" : "down"]);
}

/** How many veth interfaces and namespaces of this runner exist (for the leak check at the end). */
export function leftovers(prefix: string): string[] {
  return chaosNamespaces()
    .filter((n) => n.name.startsWith(`${prefix}-`))
    .map((n) => n.name);
}
