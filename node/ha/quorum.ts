/**
 * Runs one operation on every node concurrently and resolves as soon as the
 * outcome is decided: `quorum` nodes answered with an accepted value, or so
 * many failed that a quorum is out of reach. Operations still running then
 * finish in the background (each is bounded by its node's timeouts);
 * `onSettled` sees every one of them.
 */
export interface FanOutResult<T> {
  /** Accepted values, in arrival order. */
  accepted: T[];
  /** Rejected values (the node answered, with something else). */
  refused: T[];
  /** Errors (timeouts, connection failures). */
  errors: Error[];
}

export function fanOut<N, T>(
  nodes: readonly N[],
  quorum: number,
  op: (node: N, i: number) => Promise<T>,
  accept: (value: T) => boolean,
  onSettled?: (node: N, i: number) => void,
): Promise<FanOutResult<T>> {
  return new Promise((resolve) => {
    const result: FanOutResult<T> = { accepted: [], refused: [], errors: [] };
    let done = false;
    let settled = 0;
    const decide = () => {
      if (done) return;
      const failed = result.refused.length + result.errors.length;
      if (result.accepted.length >= quorum || failed > nodes.length - quorum || settled === nodes.length) {
        done = true;
        // Copies: later arrivals must not change what the caller decided on.
        resolve({ accepted: [...result.accepted], refused: [...result.refused], errors: [...result.errors] });
      }
    };
    nodes.forEach((node, i) => {
      let p: Promise<T>;
      try {
        p = op(node, i);
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (v) => {
          (accept(v) ? result.accepted : result.refused).push(v);
        },
        (err: Error) => {
          result.errors.push(err);
        },
      ).finally(() => {
        settled++;
        onSettled?.(node, i);
        decide();
      });
    });
    if (nodes.length === 0) decide();
  });
}
