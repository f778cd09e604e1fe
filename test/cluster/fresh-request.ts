import { request as httpRequest } from "node:http";

const REQUEST_TIMEOUT_MS = 10_000;

export interface FreshRequestInit {
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  /**
   * Send the headers, with the body's length, but hold the body until the
   * answer: for a body the server refuses by its declared length (413). It
   * answers at once and closes the connection (the client may send more), so
   * writing the body could fail with EPIPE or ECONNRESET before the answer
   * is read, which is the client's race, not the node's behavior.
   */
  declareBodyOnly?: boolean;
}

/**
 * One HTTP request on a connection of its own, answered with the status and
 * the body (parsed when JSON). The hostile-input checks use it instead of
 * fetch, whose pool reuses keep-alive connections: the server closes the
 * connection after every body it could not parse (fastify answers with
 * `Connection: close`), so one case could leave the next a connection
 * that is going away.
 */
export function freshRequest(url: string, init: FreshRequestInit = {}): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const headers = { ...(init.headers ?? {}) };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    const req = httpRequest(
      url,
      { method: init.method ?? "GET", headers, agent: false, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          if (init.declareBodyOnly) req.destroy();
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    if (init.declareBodyOnly) req.flushHeaders();
    else req.end(init.body);
  });
}
