/**
 * The event loop's single input queue. Bounded: when full, inputs from the
 * outside (network, clients) are refused and counted; the loop's own inputs
 * (durable acknowledgements, timers, sync results) are always taken, since
 * they are bounded by the writes, timers and fetches the loop itself started.
 */
export class InputQueue<T> {
  readonly capacity: number;
  #items: T[] = [];
  #head = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error("queue capacity must be a positive integer");
    this.capacity = capacity;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds an outside input; false when the queue is full. */
  offer(item: T): boolean {
    if (this.length >= this.capacity) return false;
    this.#items.push(item);
    return true;
  }

  /** Adds one of the loop's own inputs, regardless of the bound. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** Takes up to `max` items in arrival order. */
  take(max: number): T[] {
    const end = Math.min(this.#items.length, this.#head + max);
    const out = this.#items.slice(this.#head, end);
    this.#head = end;
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
