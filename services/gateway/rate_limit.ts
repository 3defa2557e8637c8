/**
 * Fixed-window rate limits kept in Redis, several buckets checked in one round trip (one Lua call).
 * A Redis failure lets the request through (logged): trading must not stop because limits cannot be
 * counted.
 * @module
 */
import type { Logger } from "@lib/log";
import type { Counter } from "@lib/metrics";
import type { RedisClient } from "@lib/redis";
import { ApiError } from "./errors.ts";

// INCR each key; the first increment of a window sets its expiry
const SCRIPT = `
local out = {}
for i, k in ipairs(KEYS) do
  local n = redis.call('INCR', k)
  if n == 1 then redis.call('PEXPIRE', k, ARGV[1]) end
  out[i] = n
end
return out`;

/** One bucket: a name for messages and metrics, the id counted, and its limit per window. */
export interface Bucket {
  scope: string;
  id: string;
  limit: number;
}

export interface RateLimiterOptions {
  redis: RedisClient;
  prefix: string;
  windowMs: number;
  log: Logger;
  rejected: Counter;
}

/** Counts requests per bucket and refuses the ones over a limit with a 429. */
export class RateLimiter {
  #sha?: string;
  constructor(readonly options: RateLimiterOptions) {}

  async #eval(keys: string[], ttl: number): Promise<number[]> {
    const { redis } = this.options;
    this.#sha ??= await redis.scriptLoad(SCRIPT);
    try {
      return await redis.evalSha(this.#sha, { keys, arguments: [String(ttl)] }) as number[];
    } catch (e) {
      if (!String(e).includes("NOSCRIPT")) throw e;
      this.#sha = await redis.scriptLoad(SCRIPT);
      return await redis.evalSha(this.#sha, { keys, arguments: [String(ttl)] }) as number[];
    }
  }

  /** Counts one request in every bucket; throws a 429 ApiError when any is over its limit. */
  async check(buckets: Bucket[], nowMs = Date.now()): Promise<void> {
    if (buckets.length === 0) return;
    const { windowMs, prefix } = this.options;
    const window = Math.floor(nowMs / windowMs);
    const keys = buckets.map((b) => `${prefix}:gw:rl:${b.scope}:${b.id}:${window}`);
    let counts: number[];
    try {
      counts = await this.#eval(keys, windowMs + 1000);
    } catch (e) {
      this.options.log.warn("rate limit not counted", { error: e });
      return;
    }
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i];
      if (counts[i] > b.limit) {
        this.options.rejected.inc({ scope: b.scope });
        const retryAfter = Math.max(1, Math.ceil(((window + 1) * windowMs - nowMs) / 1000));
        throw new ApiError(
          429,
          "RATE_LIMITED",
          `Too many requests: the ${b.scope} limit is ${b.limit} per ${windowMs} ms; retry after ${retryAfter} s`,
          {
            headers: {
              "retry-after": String(retryAfter),
              "ratelimit-limit": String(b.limit),
              "ratelimit-remaining": "0",
              "ratelimit-reset": String(retryAfter),
            },
          },
        );
      }
    }
  }
}
