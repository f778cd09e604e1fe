/**
 * Hostile HTTP clients against one node's API on 127.0.0.1, every loop
 * bounded in count and time (issue 11 items 1 and 2), plus a well-behaved
 * client on its own keep-alive connection that keeps the chain busy.
 */
import { Agent, request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { sampleProcess } from "../../scripts/cluster/index.ts";

/** Opens `count` connections that each declare a body of `declaredBytes`, send `sendBytes` of it, and stall. */
export async function slowBodies(
  port: number,
  opts: { count: number; declaredBytes: number; sendBytes: number; deadlineMs: number },
): Promise<{ sockets: Socket[]; closedByServer: () => number; answered503: () => number }> {
  const sockets: Socket[] = [];
  let closed = 0;
  let got503 = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const started = Date.now();
  for (let i = 0; i < opts.count && Date.now() - started < opts.deadlineMs; i++) {
    const s = connect({ host: "127.0.0.1", port });
    s.on("error", () => {});
    s.on("data", (d) => {
      if (d.toString("latin1").startsWith("HTTP/1.1 503")) got503++;
    });
    s.on("close", () => closed++);
    s.once("connect", () => {
      s.write(
        `POST /txs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${opts.declaredBytes}\r\n\r\n`,
      );
      for (let sent = 0; sent < opts.sendBytes; sent += chunk.byteLength) {
        if (!s.write(chunk.subarray(0, Math.min(chunk.byteLength, opts.sendBytes - sent)))) break;
      }
    });
    sockets.push(s);
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
  }
  return { sockets, closedByServer: () => closed, answered503: () => got503 };
}

/** `connections` sockets that each write `requests` pipelined GETs of `path` and never read. */
export function pipelinedFlood(port: number, opts: { connections: number; requests: number; path: string }): Socket[] {
  const sockets: Socket[] = [];
  const one = `GET ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  const batch = one.repeat(500);
  for (let c = 0; c < opts.connections; c++) {
    const s = connect({ host: "127.0.0.1", port });
    s.on("error", () => {});
    s.pause(); // never read the answers
    s.once("connect", () => {
      for (let sent = 0; sent < opts.requests; sent += 500) s.write(batch);
    });
    sockets.push(s);
  }
  return sockets;
}

/** A client on one keep-alive connection posting a small tx every `everyMs`; counts 202s. */
export function steadyClient(port: number, everyMs: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let accepted = 0;
  let failed = 0;
  let n = 0;
  let running = true;
  const post = () =>
    new Promise<void>((resolve) => {
      const body = JSON.stringify({ txs: [`steady${n++}=${Date.now()}`] });
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port,
          path: "/txs",
          method: "POST",
          agent,
          timeout: 5000,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          if (res.statusCode === 202) accepted++;
          else failed++;
          res.resume();
          res.on("end", resolve);
        },
      );
      req.on("error", () => {
        failed++;
        resolve();
      });
      req.on("timeout", () => req.destroy());
      req.end(body);
    });
  const loop = (async () => {
    while (running) {
      await post();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    get accepted() {
      return accepted;
    },
    get failed() {
      return failed;
    },
    async stop() {
      running = false;
      await loop;
      agent.destroy();
    },
  };
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function rssSampler(pid: number, everyMs = 100) {
  let peak = sampleProcess(pid)?.rssBytes ?? 0;
  const timer = setInterval(() => {
    const s = sampleProcess(pid);
    if (s !== undefined) peak = Math.max(peak, s.rssBytes);
  }, everyMs);
  return {
    get peak() {
      return peak;
    },
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

export const MiB = 1024 * 1024;
