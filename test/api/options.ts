import pino from "pino";
import type { ApiOptions } from "../../node/api/index.ts";
import { defaultConfig } from "../../node/config/index.ts";

/** ApiOptions for a test server on a free port: the shipped [api] bounds, with `limits` and `extra` on top. */
export function apiOptions(
  limits: Partial<ReturnType<typeof defaultConfig>["api"]> = {},
  extra: Partial<ApiOptions> = {},
): ApiOptions {
  return {
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 4096,
    maxTxBytes: 100,
    maxTxsPerRequest: 10,
    limits: { ...defaultConfig().api, ...limits },
    logger: pino({ level: "silent" }),
    ...extra,
  };
}
