/**
 * Small HTTP client for the node API in cluster tests. Every request has a
 * deadline so a hung node fails the test instead of hanging it.
 */

const REQUEST_TIMEOUT_MS = 10_000;

export interface HttpResult {
  status: number;
  /** Parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
}

export async function request(
  url: string,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    ...(init.body !== undefined && { body: init.body }),
    ...(init.headers !== undefined && { headers: init.headers }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics): keep the text
  }
  return { status: res.status, body };
}

export function getJson(url: string): Promise<HttpResult> {
  return request(url);
}

export function postJson(url: string, value: unknown): Promise<HttpResult> {
  return request(url, {
    method: "POST",
    body: JSON.stringify(value),
    headers: { "content-type": "application/json" },
  });
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
