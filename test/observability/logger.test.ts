import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { child, createLogger } from "../../node/observability/index.ts";

/** A destination that keeps every written line. */
function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      lines.push(
        ...chunk
          .toString()
          .split("\n")
          .filter((l) => l !== ""),
      );
      done();
    },
  });
  return { lines, stream };
}

test("the default format writes one JSON object per line, with the module of a child logger", () => {
  const out = capture();
  const root = createLogger({ level: "info", destination: out.stream, base: { node: "alice" } });
  child(root, "consensus").info({ index: 7 }, "finalized");
  child(root, "lanes").warn("gap");
  assert.equal(out.lines.length, 2);
  const [first, second] = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(first!.module, "consensus");
  assert.equal(first!.msg, "finalized");
  assert.equal(first!.index, 7);
  assert.equal(first!.node, "alice");
  assert.equal(first!.level, 30);
  assert.equal(typeof first!.time, "number");
  assert.equal(second!.module, "lanes");
  assert.equal(second!.level, 40);
});

test("the level from config filters lines", () => {
  const out = capture();
  const log = child(createLogger({ level: "warn", destination: out.stream }), "net");
  log.info("dropped");
  log.debug("dropped too");
  log.error("kept");
  assert.deepEqual(
    out.lines.map((l) => JSON.parse(l).msg),
    ["kept"],
  );
});

test("the pretty format is human-readable text naming the module", async () => {
  const out = capture();
  const root = createLogger({ level: "info", format: "pretty", destination: out.stream });
  child(root, "storage").info({ entries: 3 }, "recovered");
  // pino-pretty formats in a transform stream: let it pass the line on.
  await new Promise((resolve) => setImmediate(resolve));
  const text = out.lines.join("\n");
  assert.match(text, /INFO.*\[storage\] recovered/);
  assert.match(text, /entries: 3/);
  assert.throws(() => JSON.parse(out.lines[0]!));
});
