import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { prettyFactory } from "pino-pretty";
import { sleep } from "./proc.ts";

/** Bytes read per poll of the followed file; a bound on what one pass holds in memory. */
const READ_CHUNK_BYTES = 256 * 1024;

export interface FollowOptions {
  /** How many of the last lines to show first. */
  lines: number;
  /** Keep following the file as it grows (tail -f) until the signal aborts. */
  follow: boolean;
  pretty: boolean;
  colorize: boolean;
  signal?: AbortSignal;
  write: (text: string) => void;
}

/** The last lines of a log file, for error messages ("(no log)" when there is none). */
export function logTail(file: string, lines = 25): string {
  if (!existsSync(file)) return "(no log)";
  const start = tailOffset(file, lines);
  const fd = openSync(file, "r");
  try {
    const size = statSync(file).size;
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString("utf8").trimEnd();
  } finally {
    closeSync(fd);
  }
}

/** Start offset of the last `lines` lines of a file (reads its tail only). */
export function tailOffset(file: string, lines: number): number {
  const size = statSync(file).size;
  if (lines <= 0) return size;
  const fd = openSync(file, "r");
  try {
    let end = size;
    let newlines = 0;
    const buf = Buffer.alloc(64 * 1024);
    // A trailing newline ends the last line; it does not start one more.
    let skipTrailing = true;
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const n = readSync(fd, buf, 0, end - start, start);
      for (let i = n - 1; i >= 0; i--) {
        if (buf[i] !== 0x0a) {
          skipTrailing = false;
          continue;
        }
        if (skipTrailing) {
          skipTrailing = false;
          continue;
        }
        newlines++;
        if (newlines === lines) return start + i + 1;
      }
      end = start;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}

/** A line formatter: pino JSON lines made readable; anything else passes through. */
export function lineFormatter(pretty: boolean, colorize: boolean): (line: string) => string {
  if (!pretty) return (line) => `${line}\n`;
  const format = prettyFactory({ colorize, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" });
  return (line) => {
    if (!line.startsWith("{")) return `${line}\n`;
    try {
      return format(JSON.parse(line));
    } catch {
      return `${line}\n`;
    }
  };
}

/** Prints the tail of a node's log and, with `follow`, what it appends (also after a restart). */
export async function followLog(file: string, opts: FollowOptions): Promise<void> {
  while (!existsSync(file)) {
    if (!opts.follow || opts.signal?.aborted) throw new Error(`no log file ${file}`);
    await sleep(200);
  }
  const format = lineFormatter(opts.pretty, opts.colorize);
  let offset = tailOffset(file, opts.lines);
  let partial = "";
  const decoder = new StringDecoder("utf8"); // a character split across two reads stays whole
  const buf = Buffer.alloc(READ_CHUNK_BYTES);
  for (;;) {
    const size = statSync(file).size;
    if (size < offset) offset = 0; // truncated or replaced
    while (offset < size) {
      const fd = openSync(file, "r");
      let n: number;
      try {
        n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
      } finally {
        closeSync(fd);
      }
      if (n === 0) break;
      offset += n;
      const text = partial + decoder.write(buf.subarray(0, n));
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      if (partial.length > READ_CHUNK_BYTES) {
        lines.push(partial);
        partial = "";
      }
      opts.write(lines.map(format).join(""));
    }
    if (!opts.follow || opts.signal?.aborted) {
      if (partial) opts.write(format(partial));
      return;
    }
    await sleep(250);
  }
}
