/**
 * Wraps an expensive async render so it runs at most once per `intervalMs`:
 * callers within the interval get the last result, and callers during a
 * render share it.
 */
export function cachedEvery<T>(intervalMs: number, render: () => Promise<T>): () => Promise<T> {
  let last: { atMs: number; value: Promise<T> } | null = null;
  return () => {
    const nowMs = Date.now();
    if (last !== null && nowMs - last.atMs < intervalMs) return last.value;
    const value = render();
    const entry = { atMs: nowMs, value };
    last = entry;
    // A failed render is not cached.
    value.catch(() => {
      if (last === entry) last = null;
    });
    return value;
  };
}
