import type { FastifyInstance } from "fastify";
import type { EventHub } from "./events.ts";

/** Seconds a client refused for the stream cap should wait before trying again. */
const EVENTS_RETRY_AFTER_S = 5;

/**
 * `GET /events`: the finality stream (server-sent events, see events.ts).
 * Over the stream cap: 503 with Retry-After. Closing the server ends every
 * stream first, so close() does not wait on them.
 */
export function registerEventsRoute(app: FastifyInstance, hub: EventHub): void {
  app.addHook("preClose", async () => hub.closeAll());
  app.get("/events", async (req, reply) => {
    if (!hub.hasRoom()) {
      return reply
        .status(503)
        .header("Retry-After", String(EVENTS_RETRY_AFTER_S))
        .send({ error: "too many event streams; retry later" });
    }
    reply.hijack();
    req.raw.socket.setNoDelay(true);
    hub.open(reply.raw);
    return reply;
  });
}
