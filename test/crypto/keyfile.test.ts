import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { generateKeyPair, readKeyFile, writeKeyFile } from "../../node/crypto/index.ts";
import { toHex } from "../../node/types/index.ts";

const dir = mkdtempSync(join(tmpdir(), "validator-keyfile-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const freshPath = () => join(dir, `key-${n++}.json`);
const pair = generateKeyPair(new Uint8Array(32).fill(6));
const modeOf = (path: string) => statSync(path).mode & 0o777;

/** Writes raw content as a key file would be (mode 0600). */
function rawKeyFile(content: string): string {
  const path = freshPath();
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

test("write then read returns the same key pair, in a 0600 file", () => {
  const path = freshPath();
  writeKeyFile(path, pair);
  assert.equal(modeOf(path), 0o600);
  assert.deepEqual(readKeyFile(path), pair);
  const json = JSON.parse(readFileSync(path, "utf8"));
  assert.deepEqual(json, { type: "ed25519", publicKey: toHex(pair.publicKey), secretKey: toHex(pair.secretKey) });
});

test("an existing key file is never overwritten unless asked", () => {
  const path = freshPath();
  writeKeyFile(path, pair);
  const other = generateKeyPair(new Uint8Array(32).fill(7));
  assert.throws(() => writeKeyFile(path, other), new RegExp(`refusing to overwrite the existing key file ${path}`));
  assert.deepEqual(readKeyFile(path), pair);
  writeKeyFile(path, other, { overwrite: true });
  assert.deepEqual(readKeyFile(path), other);
});

test("overwriting a file other users could read leaves it 0600", () => {
  const path = freshPath();
  writeFileSync(path, "old", { mode: 0o644 });
  writeKeyFile(path, pair, { overwrite: true });
  assert.equal(modeOf(path), 0o600);
  assert.deepEqual(readKeyFile(path), pair);
});

test("a key file other users can read is refused, with the fix", () => {
  for (const mode of [0o644, 0o640, 0o604, 0o666]) {
    const path = freshPath();
    writeKeyFile(path, pair);
    chmodSync(path, mode);
    assert.throws(
      () => readKeyFile(path),
      new RegExp(`key file ${path} has mode ${mode.toString(8)}; other users can read it. Run: chmod 600 ${path}`),
    );
  }
  const path = freshPath();
  writeKeyFile(path, pair);
  chmodSync(path, 0o400); // owner read-only is fine
  assert.deepEqual(readKeyFile(path), pair);
});

test("a missing file is reported with its path", () => {
  const path = join(dir, "absent.json");
  assert.throws(() => readKeyFile(path), new RegExp(`cannot read key file ${path}: ENOENT`));
});

test("bad JSON and wrong shapes are reported with the path", () => {
  const notJson = rawKeyFile("{ not json");
  assert.throws(() => readKeyFile(notJson), new RegExp(`key file ${notJson} is not valid JSON`));
  const shapes = [
    "null",
    "42",
    '"text"',
    "[]",
    "{}",
    JSON.stringify({ type: "secp256k1", publicKey: toHex(pair.publicKey), secretKey: toHex(pair.secretKey) }),
    JSON.stringify({ type: "ed25519", publicKey: toHex(pair.publicKey) }),
    JSON.stringify({ type: "ed25519", publicKey: 1, secretKey: toHex(pair.secretKey) }),
  ];
  for (const content of shapes) {
    const path = rawKeyFile(content);
    assert.throws(
      () => readKeyFile(path),
      new RegExp(`key file ${path} must hold \\{"type":"ed25519","publicKey":hex,"secretKey":hex\\}`),
      content,
    );
  }
});

test("bad hex is reported with the path", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ secretKey: "zz".repeat(32) }, /not a hex string/],
    [{ secretKey: "abc" }, /not a hex string/],
    [{ secretKey: "00".repeat(31) }, /expected 32 bytes of hex, got 31/],
    [{ publicKey: "00".repeat(33) }, /expected 32 bytes of hex, got 33/],
  ];
  for (const [patch, reason] of cases) {
    const body = { type: "ed25519", publicKey: toHex(pair.publicKey), secretKey: toHex(pair.secretKey), ...patch };
    const path = rawKeyFile(JSON.stringify(body));
    assert.throws(
      () => readKeyFile(path),
      (err: Error) => {
        assert.ok(err.message.startsWith(`key file ${path}: `), err.message);
        assert.match(err.message, reason);
        return true;
      },
    );
  }
});

test("a public key that does not match the secret key is refused", () => {
  const other = generateKeyPair(new Uint8Array(32).fill(8));
  const path = rawKeyFile(
    JSON.stringify({ type: "ed25519", publicKey: toHex(other.publicKey), secretKey: toHex(pair.secretKey) }),
  );
  assert.throws(
    () => readKeyFile(path),
    new RegExp(`key file ${path}: the public key does not belong to the secret key`),
  );
});

test("a key file that cannot be written is reported with its path", () => {
  const path = join(dir, "no-such-dir", "key.json");
  assert.throws(() => writeKeyFile(path, pair), new RegExp(`cannot write key file ${path}: ENOENT`));
});
