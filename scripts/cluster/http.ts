/** Small HTTP helpers for the node API (global fetch, keep-alive by default); every request has a deadline. */

const REQUEST_TIMEOUT_MS = 10_000;

export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface HttpResult {
  status: number;
  /** Parsed JSON body, or the raw text when it is not JSON (e.g. /metrics). */
  body: unknown;
}

/** Any request; answers with the status and the body, whatever the status. */
export async function request(
  url: string,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpResult> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    ...(init.body !== undefined && { body: init.body }),
    ...(init.headers !== undefined && { headers: init.headers }),
    signal: AbortSignal.timeout(init.timeoutMs ?? REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

export function postJson(url: string, value: unknown, timeoutMs?: number): Promise<HttpResult> {
  return request(url, {
    method: "POST",
    body: JSON.stringify(value),
    headers: { "content-type": "application/json" },
    ...(timeoutMs !== undefined && { timeoutMs }),
  });
}

/** GET a JSON body; anything but 2xx is an HttpError. */
export async function getJson<T>(url: string, timeoutMs = 2000): Promise<T> {
  return JSON.parse(await getText(url, timeoutMs)) as T;
}

/**
 * GET a body as text (a large JSON body passed on as it is, unparsed);
 * anything but 2xx is an HttpError. `signal` gives up before the deadline.
 */
export async function getText(url: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const res = await fetch(url, { signal: signal === undefined ? deadline : AbortSignal.any([deadline, signal]) });
  const text = await res.text();
  if (!res.ok) throw new HttpError(res.status, `GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

export function apiUrl(apiPort: number, path: string): string {
  return `http://127.0.0.1:${apiPort}${path}`;
}
