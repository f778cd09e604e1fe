import { isIP } from "node:net";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { z } from "zod";

/**
 * Builders for config values. Each one records, next to the zod check, how a
 * text value (environment variable, --set flag) is converted and a sentence
 * saying what is allowed, so every error can tell the operator what to write.
 */
export type ValueKind = "int" | "number" | "boolean" | "string" | "enum" | "list";

export interface KeyMeta {
  kind: ValueKind;
  allowed: string;
}

export function intKey(min: number, max: number, note = "") {
  return z
    .number()
    .int()
    .min(min)
    .max(max)
    .meta({ kind: "int", allowed: `an integer from ${min} to ${max}${note}` } satisfies KeyMeta);
}

/** 0 or a power of two up to `max` (V8 rounds a semi-space size up to one; the config says what runs). */
export function powerOfTwoOrZeroKey(max: number, note = "") {
  const values = [0];
  for (let v = 1; v <= max; v *= 2) values.push(v);
  return z
    .number()
    .int()
    .refine((v) => values.includes(v), "not 0 or a power of two in range")
    .meta({ kind: "int", allowed: `one of ${values.join(", ")}${note}` } satisfies KeyMeta);
}

/** 0 (a setting's "leave it to the default") or an integer from `min` to `max`. */
export function zeroOrIntKey(min: number, max: number, note = "") {
  return z
    .number()
    .int()
    .refine((v) => v === 0 || (v >= min && v <= max), `not 0 or from ${min} to ${max}`)
    .meta({ kind: "int", allowed: `0 or an integer from ${min} to ${max}${note}` } satisfies KeyMeta);
}

export function numberKey(min: number, max: number) {
  return z
    .number()
    .min(min)
    .max(max)
    .meta({ kind: "number", allowed: `a number from ${min} to ${max}` } satisfies KeyMeta);
}

export function booleanKey() {
  return z.boolean().meta({ kind: "boolean", allowed: "true or false" } satisfies KeyMeta);
}

export function enumKey<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .enum(values)
    .meta({ kind: "enum", allowed: `one of ${values.map((v) => `"${v}"`).join(", ")}` } satisfies KeyMeta);
}

/** A name: letters, digits, '.', '_' and '-', starting with a letter or digit. */
export function nameKey(maxChars: number) {
  const pattern = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${maxChars - 1}}$`);
  return z
    .string()
    .regex(pattern, "not a valid name")
    .meta({
      kind: "string",
      allowed: `1-${maxChars} characters of A-Z, a-z, 0-9, '.', '_' or '-', starting with a letter or digit`,
    } satisfies KeyMeta);
}

/** A file or directory path; relative paths are resolved against the home. */
export function pathKey(opts: { optional: boolean }) {
  const allowed = `a file path${opts.optional ? ", or empty" : ""} (relative paths are resolved against the home), at most 4096 characters`;
  return z
    .string()
    .min(opts.optional ? 0 : 1)
    .max(4096)
    .refine((p) => !p.includes("\0"), "contains a NUL character")
    .meta({ kind: "string", allowed } satisfies KeyMeta);
}

/** An IP address or a host name such as localhost. */
export function hostKey() {
  return z
    .string()
    .refine(
      (h) =>
        isIP(h) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(h),
      "not an IP address or host name",
    )
    .meta({ kind: "string", allowed: 'an IP address or host name, e.g. "127.0.0.1"' } satisfies KeyMeta);
}

function multiaddrProblem(text: string, needPeerId: boolean): string | undefined {
  let components: ReturnType<ReturnType<typeof multiaddr>["getComponents"]>;
  try {
    components = multiaddr(text).getComponents();
  } catch (err) {
    return `not a multiaddr: ${(err as Error).message}`;
  }
  const p2p = components.filter((c) => c.name === "p2p");
  if (!needPeerId) return p2p.length > 0 ? "a listen address must not name a peer id (/p2p/...)" : undefined;
  const last = components.at(-1);
  if (last?.name !== "p2p" || last.value === undefined) return "must end in /p2p/<peerId>";
  try {
    peerIdFromString(last.value);
  } catch {
    return `peer id ${last.value} is not valid`;
  }
  return undefined;
}

/** A list of multiaddrs; peers must name their peer id. */
export function multiaddrListKey(opts: { min: number; max: number; withPeerId: boolean }) {
  const item = z.string().superRefine((text, ctx) => {
    const problem = multiaddrProblem(text, opts.withPeerId);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
  const example = opts.withPeerId ? "/ip4/127.0.0.1/tcp/26656/p2p/12D3KooW..." : "/ip4/127.0.0.1/tcp/26656";
  return z
    .array(item)
    .min(opts.min)
    .max(opts.max)
    .refine((list) => new Set(list).size === list.length, "lists an address twice")
    .meta({
      kind: "list",
      allowed: `a list of ${opts.min}-${opts.max} distinct multiaddrs like "${example}" (as an environment variable or flag: comma-separated)`,
    } satisfies KeyMeta);
}

/** An http(s) base URL, or empty where the key allows it. */
export function urlKey(opts: { optional: boolean }) {
  return z
    .string()
    .max(2048)
    .refine((u) => {
      if (u === "") return opts.optional;
      try {
        const url = new URL(u);
        return (url.protocol === "http:" || url.protocol === "https:") && url.username === "" && url.password === "";
      } catch {
        return false;
      }
    }, "not an http(s) URL")
    .meta({
      kind: "string",
      allowed: `an http:// or https:// URL such as "http://127.0.0.1:26657"${opts.optional ? ", or empty" : ""}`,
    } satisfies KeyMeta);
}

/** redis://host:port URLs (the HA mode's independent redis-servers). */
export function redisUrlListKey(opts: { min: number; max: number }) {
  const item = z.string().superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: "custom", message: "not a URL" });
      return;
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      ctx.addIssue({ code: "custom", message: "must start with redis:// or rediss://" });
    } else if (url.hostname === "") {
      ctx.addIssue({ code: "custom", message: "names no host" });
    }
  });
  return z
    .array(item)
    .min(opts.min)
    .max(opts.max)
    .refine((list) => new Set(list).size === list.length, "lists a URL twice")
    .meta({
      kind: "list",
      allowed: `a list of ${opts.min}-${opts.max} distinct URLs like "redis://127.0.0.1:6379" (as an environment variable or flag: comma-separated)`,
    } satisfies KeyMeta);
}

/** A free-form identifier, or empty for "derive it". */
export function idKey(maxChars: number) {
  return z
    .string()
    .regex(new RegExp(`^[A-Za-z0-9._-]{0,${maxChars}}$`), "not a valid id")
    .meta({
      kind: "string",
      allowed: `empty, or 1-${maxChars} characters of A-Z, a-z, 0-9, '.', '_' or '-'`,
    } satisfies KeyMeta);
}
