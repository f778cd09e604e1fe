/**
 * The event loop's input queue, in two parts. The loop's own inputs (durable
 * acknowledgements, timers, sync results, admitted txs) are bounded by the
 * writes, timers, fetches and admissions the loop itself started, and are
 * stepped first: an acknowledgement that releases a vote never waits behind
 * a flood of network messages. Outside inputs (network messages) are bounded
 * by count and by approximate bytes; beyond either they are refused, and the
 * caller counts the drop.
 */
export class InputQueue<T> {
  readonly capacity: number;
  readonly maxBytes: number;
  readonly #sizeOf: (item: T) => number;
  #own: T[] = [];
  /**
   * Outside inputs from #outsideHead on; the slots before it are emptied as
   * they are taken: a taken lane block must not stay reachable from here
   * (its fields are views of the frame it arrived in, tens of KiB) until
   * the array is next compacted.
   */
  #outside: ({ item: T; bytes: number } | undefined)[] = [];
  #outsideHead = 0;
  #outsideBytes = 0;

  constructor(capacity: number, maxBytes = Number.POSITIVE_INFINITY, sizeOf: (item: T) => number = () => 0) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error("queue capacity must be a positive integer");
    if (!(maxBytes > 0)) throw new Error("queue byte bound must be positive");
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.#sizeOf = sizeOf;
  }

  get length(): number {
    return this.#own.length + this.#outside.length - this.#outsideHead;
  }

  /** Bytes of outside inputs waiting (approximate). */
  get outsideBytes(): number {
    return this.#outsideBytes;
  }

  /** Adds an outside input; false when the queue is full by count or bytes. */
  offer(item: T): boolean {
    const bytes = this.#sizeOf(item);
    if (this.#outside.length - this.#outsideHead >= this.capacity) return false;
    if (this.#outsideBytes + bytes > this.maxBytes) return false;
    this.#outside.push({ item, bytes });
    this.#outsideBytes += bytes;
    return true;
  }

  /** Adds one of the loop's own inputs, regardless of the bound. */
  push(item: T): void {
    this.#own.push(item);
  }

  /** Takes up to `max` items: the loop's own first, then outside ones, each in arrival order. */
  take(max: number): T[] {
    const out = this.#own.length <= max ? this.#own : this.#own.slice(0, max);
    this.#own = this.#own.length <= max ? [] : this.#own.slice(max);
    const room = max - out.length;
    if (room > 0) {
      const end = Math.min(this.#outside.length, this.#outsideHead + room);
      for (let i = this.#outsideHead; i < end; i++) {
        const e = this.#outside[i]!;
        this.#outside[i] = undefined;
        out.push(e.item);
        this.#outsideBytes -= e.bytes;
      }
      this.#outsideHead = end;
      if (this.#outsideHead > 4096 && this.#outsideHead * 2 > this.#outside.length) {
        this.#outside = this.#outside.slice(this.#outsideHead);
        this.#outsideHead = 0;
      }
    }
    return out;
  }

  clear(): void {
    this.#own = [];
    this.#outside = [];
    this.#outsideHead = 0;
    this.#outsideBytes = 0;
  }
}
