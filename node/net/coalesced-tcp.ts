import { Socket } from "node:net";
import type { MultiaddrConnection, Transport, Upgrader } from "@libp2p/interface";
import { type TCPComponents, type TCPOptions, tcp } from "@libp2p/tcp";

/**
 * libp2p's TCP transport with the writes of one event-loop turn coalesced
 * into one syscall per socket.
 *
 * Why: the stack below gossipsub writes many tiny buffers. Noise writes every
 * frame as its length prefix, then its ciphertext pieces and tag, one
 * `socket.write` each; yamux sends its 12-byte headers and window updates as
 * frames of their own. Measured on a 4-validator devnet at 300 tx/s: ~400
 * `write(2)` calls per second per peer socket, 25 to 32 per peer per
 * finalized index, most of them 2 to 28 bytes; `writeBuffer` was the top native item of
 * a node's profile (9 to 12% of its busy time), and each small write is one
 * more 'data' event for the receiver to decode.
 *
 * How: the first write of a turn corks the socket and the uncork is queued
 * with `setImmediate`, which runs right after the turn's I/O callbacks: the
 * replies to every message read in one poll (votes, yamux window updates)
 * leave together in one `writev`. Nothing waits for a timer, and the poll
 * does not block while the uncork is queued. Flushing at the end of each
 * tick instead (`process.nextTick`) sent one `writev` per callback; on a
 * 4-validator devnet at 300 tx/s the turn-wide cork made 21-27% more indexes
 * in the same 20 s at the same CPU per node, i.e. 15.9-17.5 CPU-ms per index
 * per node instead of 21.4-21.6, and p50 133-143 ms instead of 166-177 (two
 * alternated runs each).
 * Two exceptions keep the socket's behaviour as it was without the cork:
 * - A write that would take the turn's buffered bytes to the high-water mark
 *   flushes them first and goes out uncorked, so `write` returns false (and
 *   libp2p waits for 'drain') only when the kernel did not take the data, as
 *   before; corked, a turn of more than 16 KiB would have paused the stream.
 * - `destroy` (libp2p's abort, reset and inactivity timeout) flushes what the
 *   turn wrote before it, which would otherwise be dropped with the socket.
 */
export function coalescedTcp(init?: TCPOptions): (components: TCPComponents) => Transport {
  const factory = tcp(init);
  return (components) => {
    const transport = factory(components);
    // A Proxy keeps the transport's identity (its symbols, toStringTag, filters)
    // and changes only the upgrader it hands each new connection to.
    return new Proxy(transport, {
      get(target, property, receiver) {
        if (property === "dial") {
          const dial: Transport["dial"] = (ma, options) =>
            target.dial(ma, { ...options, upgrader: coalescingUpgrader(options.upgrader) });
          return dial;
        }
        if (property === "createListener") {
          const createListener: Transport["createListener"] = (options) =>
            target.createListener({ ...options, upgrader: coalescingUpgrader(options.upgrader) });
          return createListener;
        }
        return Reflect.get(target, property, receiver);
      },
    });
  };
}

/** The upgrader, with write coalescing switched on for each raw connection it upgrades. */
function coalescingUpgrader(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, property, receiver) {
      if (property === "upgradeInbound" || property === "upgradeOutbound") {
        const upgrade = Reflect.get(target, property, receiver) as (
          maConn: MultiaddrConnection,
          ...rest: unknown[]
        ) => unknown;
        return (maConn: MultiaddrConnection, ...rest: unknown[]) => {
          coalesceWrites(maConn);
          return upgrade.call(target, maConn, ...rest);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/**
 * Corks the connection's socket at the first write of an event-loop turn and
 * uncorks it when the turn's I/O callbacks are done (setImmediate). A
 * connection that is not a TCP socket (another transport's) is left as it is.
 */
export function coalesceWrites(maConn: MultiaddrConnection): void {
  const socket = (maConn as unknown as { socket?: unknown }).socket;
  if (!(socket instanceof Socket)) return;
  const write = socket.write;
  const destroy = socket.destroy;
  let corked = false;
  const flush = () => {
    corked = false;
    // Only this wrapper corks the socket; a queued uncork after an early
    // flush finds nothing to release and does nothing.
    while (socket.writableCorked > 0) socket.uncork();
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket["write"]>) {
    const chunk = args[0] as string | Uint8Array;
    const bytes = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (socket.writableLength + bytes >= socket.writableHighWaterMark) {
      if (corked) flush();
    } else if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      setImmediate(flush);
    }
    return write.apply(this, args);
  } as Socket["write"];
  socket.destroy = function (this: Socket, ...args: Parameters<Socket["destroy"]>) {
    if (corked && !socket.destroyed) flush();
    return destroy.apply(this, args);
  } as Socket["destroy"];
}
