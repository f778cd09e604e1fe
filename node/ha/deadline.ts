/**
 * `p`, or the error `timedOut()` makes once `ms` have passed. The rejection
 * waits for one turn of the event loop's I/O phase (setImmediate runs after
 * it): when the process was busy past the deadline, a reply that arrived
 * meanwhile is read first, so a stalled event loop does not turn answered
 * requests into timeouts. The timer is cleared as soon as `p` settles.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => setImmediate(() => reject(timedOut())), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
