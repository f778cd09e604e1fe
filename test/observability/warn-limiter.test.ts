/** Issue 11 item 8: warnings one source causes are rate-limited, counted, and summed up in one line. */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { WARN_BURST, WARN_WINDOW_MS, WarnLimiter } from "../../node/observability/index.ts";

function capture() {
  const lines: { msg: string; suppressed?: number }[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, log: pino({ level: "info" }, stream) };
}

test("a burst of 3,000 warnings from one source writes a handful of lines and one summary", async () => {
  const { lines, log } = capture();
  let suppressed = 0;
  const w = new WarnLimiter(log, () => suppressed++);
  for (let i = 0; i < 3000; i++)
    w.warn("lanes:lane block outside the window", { i }, "lane block outside the window", 1000);
  // Another source is not silenced by the first.
  w.warn("push:peerB", {}, "invalid pushed lane block", 1000);
  w.flush(1000 + WARN_WINDOW_MS);
  await new Promise((r) => setImmediate(r));
  assert.equal(suppressed, 3000 - WARN_BURST);
  assert.equal(lines.length, WARN_BURST + 1 + 1);
  const summary = lines.find((l) => l.suppressed !== undefined);
  assert.equal(summary?.suppressed, 3000 - WARN_BURST);
  assert.match(summary!.msg, /lane block outside the window \(and 2995 more/);
});
