/** Small JSON-over-HTTP helpers for the scripts (global fetch, keep-alive by default). */

export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function getJson<T>(url: string, timeoutMs = 2000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new HttpError(res.status, `GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

export function apiUrl(apiPort: number, path: string): string {
  return `http://127.0.0.1:${apiPort}${path}`;
}

/** True when GET /health answers {"status":"ok"}. */
export async function isHealthy(apiBase: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const body = await getJson<{ status?: string }>(`${apiBase}/health`, timeoutMs);
    return body.status === "ok";
  } catch {
    return false;
  }
}
