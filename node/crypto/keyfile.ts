import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { bytesEqual, fromHex, toHex } from "../types/index.ts";
import { type KeyPair, publicKeyOf } from "./keys.ts";

/** On-disk form of a key (validator key or node key): JSON, mode 0600. */
export interface KeyFile {
  type: "ed25519";
  publicKey: string;
  secretKey: string;
}

export function writeKeyFile(path: string, pair: KeyPair, opts: { overwrite?: boolean } = {}): void {
  const body: KeyFile = { type: "ed25519", publicKey: toHex(pair.publicKey), secretKey: toHex(pair.secretKey) };
  // The mode option only applies when the file is created: tighten an existing
  // file before the secret goes in. Without overwrite, "wx" refuses atomically.
  if (opts.overwrite && existsSync(path)) chmodSync(path, 0o600);
  try {
    writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: opts.overwrite ? "w" : "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new Error(`refusing to overwrite the existing key file ${path}`);
    }
    throw new Error(`cannot write key file ${path}: ${(err as Error).message}`);
  }
}

/** Reads and checks a key file; every problem is reported with the path. */
export function readKeyFile(path: string): KeyPair {
  let raw: string;
  try {
    raw = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read key file ${path}: ${(err as Error).message}`);
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`key file ${path} has mode ${mode.toString(8)}; other users can read it. Run: chmod 600 ${path}`);
  }
  let parsed: Partial<KeyFile> | null;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`key file ${path} is not valid JSON`);
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    parsed.type !== "ed25519" ||
    typeof parsed.secretKey !== "string" ||
    typeof parsed.publicKey !== "string"
  ) {
    throw new Error(`key file ${path} must hold {"type":"ed25519","publicKey":hex,"secretKey":hex}`);
  }
  let secretKey: Uint8Array;
  let publicKey: Uint8Array;
  try {
    secretKey = fromHex(parsed.secretKey, 32);
    publicKey = fromHex(parsed.publicKey, 32);
  } catch (err) {
    throw new Error(`key file ${path}: ${(err as Error).message}`);
  }
  if (!bytesEqual(publicKeyOf(secretKey), publicKey)) {
    throw new Error(`key file ${path}: the public key does not belong to the secret key`);
  }
  return { secretKey, publicKey };
}
