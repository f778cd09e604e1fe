import assert from "node:assert/strict";
import { test } from "node:test";
import { asOperatorFacing, formatOperatorLine, StartupError } from "../../node/observability/index.ts";

test("a StartupError is one line: subject, problem, remedy", () => {
  const e = new StartupError("api.port 127.0.0.1:26657", "the address is already in use", "pass --api-port <port>");
  assert.equal(e.message, "api.port 127.0.0.1:26657: the address is already in use; remedy: pass --api-port <port>");
  assert.deepEqual(asOperatorFacing(e), {
    subject: "api.port 127.0.0.1:26657",
    problem: "the address is already in use",
    remedy: "pass --api-port <port>",
  });
  assert.ok(!e.message.includes("\n"));
});

test("any error with the fields flows in: storage's path, key range and loss included", () => {
  const storage = Object.assign(new Error("x"), {
    path: "/h/data/db",
    keyRange: "chain/block/3..chain/block/5",
    problem: "a table cannot be read",
    lost: "3 blocks",
    remedy: "validator resync --home /h --yes",
  });
  const f = asOperatorFacing(storage);
  assert.ok(f !== null);
  assert.equal(
    formatOperatorLine(f),
    "/h/data/db (chain/block/3..chain/block/5): a table cannot be read; lost: 3 blocks; remedy: validator resync --home /h --yes",
  );
  assert.equal(asOperatorFacing(new Error("plain")), null);
  assert.equal(asOperatorFacing("text"), null);
});
