/**
 * A tiny hand-written SSZ encoder for building inputs the real codecs refuse
 * to produce (lists one over their limit). Tests check it against the real
 * encoder at the limit before trusting it past the limit.
 */
/** Concatenation of a list of any length (spreading 65k arguments overflows the stack). */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export function uint(value: number, byteLength: number): Uint8Array {
  const out = new Uint8Array(byteLength);
  let v = BigInt(value);
  for (let i = 0; i < byteLength; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export type Field = { fixed: Uint8Array } | { variable: Uint8Array };

/** A container: fixed parts and offsets in order, then the variable parts. */
export function container(fields: Field[]): Uint8Array {
  const fixedLength = fields.reduce((n, f) => n + ("fixed" in f ? f.fixed.byteLength : 4), 0);
  const head: Uint8Array[] = [];
  const tail: Uint8Array[] = [];
  let offset = fixedLength;
  for (const f of fields) {
    if ("fixed" in f) head.push(f.fixed);
    else {
      head.push(uint(offset, 4));
      tail.push(f.variable);
      offset += f.variable.byteLength;
    }
  }
  return concat([...head, ...tail]);
}

/** A list of fixed-size elements is their concatenation. */
export function fixedList(elements: Uint8Array[]): Uint8Array {
  return concat(elements);
}

/** A list of variable-size elements: one offset per element, then the elements. */
export function variableList(elements: Uint8Array[]): Uint8Array {
  return container(elements.map((variable) => ({ variable })));
}

/** A bit list: the bits little-endian, then a 1 bit marking the length. */
export function bitList(bits: boolean[]): Uint8Array {
  const out = new Uint8Array(Math.floor(bits.length / 8) + 1);
  bits.forEach((bit, i) => {
    if (bit) out[i >> 3]! |= 1 << (i & 7);
  });
  out[bits.length >> 3]! |= 1 << (bits.length & 7);
  return out;
}

/** An optional value: nothing for none, else 0x01 then the value. */
export function optional(value: Uint8Array | null): Uint8Array {
  return value === null ? new Uint8Array(0) : concat([new Uint8Array([1]), value]);
}
