/**
 * Learns finality from a node's GET /events stream (server-sent events of
 * finalized indexes with their tx hashes) instead of polling.
 */

export interface FinalizedEvent {
  index: number;
  txHashes: string[];
}

/** Splits SSE text into frames; returns the events of complete frames and the unparsed rest. */
export function parseSseChunk(buffer: string): { events: FinalizedEvent[]; rest: string } {
  const events: FinalizedEvent[] = [];
  let rest = buffer;
  for (let cut = rest.indexOf("\n\n"); cut >= 0; cut = rest.indexOf("\n\n")) {
    const frame = rest.slice(0, cut);
    rest = rest.slice(cut + 2);
    let kind = "message";
    let data = "";
    for (const line of frame.split("\n")) {
      if (line.startsWith("event: ")) kind = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (kind !== "finalized" || data === "") continue;
    const e = JSON.parse(data) as FinalizedEvent;
    if (Number.isInteger(e.index) && Array.isArray(e.txHashes)) events.push(e);
  }
  return { events, rest };
}

export class EventsWatcher {
  readonly #url: string;
  readonly #abort = new AbortController();
  firstIndex = 0;
  lastIndex = 0;
  #done: Promise<void> = Promise.resolve();

  constructor(api: string) {
    this.#url = `${api}/events`;
  }

  /** Connects; resolves once the stream is open (events from then on reach onEvent). */
  async start(onEvent: (e: FinalizedEvent) => void, onError: (msg: string) => void): Promise<void> {
    const res = await fetch(this.#url, { signal: this.#abort.signal });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      throw new Error(`GET ${this.#url}: ${res.status}`);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    this.#done = (async () => {
      let buf = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            if (!this.#abort.signal.aborted) onError(`${this.#url}: the node ended the stream`);
            return;
          }
          const parsed = parseSseChunk(buf + value);
          buf = parsed.rest;
          for (const e of parsed.events) {
            if (this.firstIndex === 0) this.firstIndex = e.index;
            this.lastIndex = e.index;
            onEvent(e);
          }
        }
      } catch (err) {
        if (!this.#abort.signal.aborted) onError(`${this.#url}: ${(err as Error).message}`);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}
