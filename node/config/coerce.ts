import type { ValueKind } from "./kinds.ts";

/**
 * Converts the text of an environment variable or a --set flag to the type
 * of its key. The result is still checked by the schema; this only turns
 * "1000" into 1000 and "a,b" into ["a", "b"].
 */
export type Coerced = { ok: true; value: unknown } | { ok: false; problem: string };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function coerceText(text: string, kind: ValueKind): Coerced {
  const trimmed = text.trim();
  switch (kind) {
    case "int":
    case "number": {
      const cleaned = trimmed.replaceAll("_", "");
      if (!NUMBER.test(cleaned)) return { ok: false, problem: "not a number" };
      return { ok: true, value: Number(cleaned) };
    }
    case "boolean":
      if (trimmed === "true") return { ok: true, value: true };
      if (trimmed === "false") return { ok: true, value: false };
      return { ok: false, problem: "not a boolean" };
    case "list":
      return { ok: true, value: trimmed === "" ? [] : trimmed.split(",").map((item) => item.trim()) };
    case "string":
    case "enum":
      return { ok: true, value: text };
  }
}
