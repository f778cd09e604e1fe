/**
 * One real timer per name: arming a name replaces its previous timer. The
 * protocol asks for timers as effects with absolute deadlines; this turns
 * them into setTimeout calls and reports firings back as inputs.
 */
export class Timers<Name extends string> {
  readonly #timers = new Map<Name, NodeJS.Timeout>();
  readonly #fire: (name: Name, key: string) => void;
  #closed = false;

  constructor(fire: (name: Name, key: string) => void) {
    this.#fire = fire;
  }

  set(name: Name, key: string, deadlineMs: number, nowMs: number): void {
    if (this.#closed) return;
    const previous = this.#timers.get(name);
    if (previous !== undefined) clearTimeout(previous);
    const delayMs = Math.max(0, deadlineMs - nowMs);
    this.#timers.set(
      name,
      setTimeout(() => {
        this.#timers.delete(name);
        this.#fire(name, key);
      }, delayMs),
    );
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
