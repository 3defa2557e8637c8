/**
 * Fixed-window rate limits shared through Redis, decided without a Redis round trip per request.
 *
 * Each process counts requests per bucket and window in memory and decides at once from what it
 * knows: the window's total in Redis as of its last sync, plus its own requests since. Every
 * `syncMs` (and when it closes) it adds its new counts to Redis in one Lua call (INCRBY per key,
 * expiry set on the first) and learns the totals, which include the other gateways' requests. So a
 * request costs a map update, and Redis sees one call per process per sync period. The price: other
 * processes' requests are seen up to `syncMs` late, so N gateways may together let through up to
 * what they each accept in one sync period above a limit, and a process that starts in the middle
 * of a window learns its total at the first sync.
 *
 * A few limits are small and guard passwords (logins per address, failed logins per account): one
 * sync period's slack per gateway would be a whole extra limit there under a burst. Those are
 * counted in Redis at once instead (`checkShared`, `isOverShared`: one round trip, exact across
 * gateways); the requests they guard hash a password anyway.
 *
 * A Redis failure keeps the counts for the next sync (logged); limits still apply from local counts.
 * @module
 */
import { errorText, type Logger } from "@lib/log";
import type { Counter } from "@lib/metrics";
import type { RedisClient } from "@lib/redis";
import { ApiError } from "./errors.ts";

// INCRBY each key by its count; the increment that creates a key sets its expiry
const SCRIPT = `
local out = {}
for i, k in ipairs(KEYS) do
  local by = tonumber(ARGV[i + 1])
  local n = redis.call('INCRBY', k, by)
  if n == by then redis.call('PEXPIRE', k, ARGV[1]) end
  out[i] = n
end
return out`;

/** How long a shared count may take before the limit is decided from this process's counts. */
export const SHARED_WAIT_MS = 500;

/** `p`, or a rejection once SHARED_WAIT_MS have passed without its answer. */
async function answerWithin<T>(p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Redis did not answer within ${SHARED_WAIT_MS} ms`)),
          SHARED_WAIT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One bucket: a name for messages and metrics, the id counted, and its limit per window. */
export interface Bucket {
  scope: string;
  id: string;
  limit: number;
  /** What is counted, for the 429's message (default: "the <scope> limit"). */
  what?: string;
}

export interface RateLimiterOptions {
  redis: RedisClient;
  prefix: string;
  windowMs: number;
  log: Logger;
  rejected: Counter;
  /** How often local counts are added to Redis and totals read back. @default {50} */
  syncMs?: number;
}

interface Count {
  window: number;
  /** The window's total in Redis at the last sync (this process's synced requests included). */
  synced: number;
  /** Requests counted here and not yet sent. */
  pending: number;
  /** Requests sent in the sync now in flight. */
  sending: number;
}

/** Counts requests per bucket and refuses the ones over a limit with a 429. */
export class RateLimiter {
  #sha?: string;
  #syncFailing = false;
  #counts = new Map<string, Count>();
  #timer?: ReturnType<typeof setTimeout>;
  #syncing?: Promise<void>;
  #closed = false;
  constructor(readonly options: RateLimiterOptions) {}

  /** The window `nowMs` falls in, and the Redis key of `bucket` in it. */
  #at(bucket: Bucket, nowMs: number): { window: number; key: string } {
    const window = Math.floor(nowMs / this.options.windowMs);
    return { window, key: `${this.options.prefix}:gw:rl:${bucket.scope}:${bucket.id}:${window}` };
  }

  /** True when `bucket` is already over its limit in this window (counts nothing). */
  isOver(bucket: Bucket, nowMs = Date.now()): boolean {
    const count = this.#counts.get(this.#at(bucket, nowMs).key);
    return count !== undefined && count.synced + count.sending + count.pending > bucket.limit;
  }

  /** Counts one request in every bucket; throws a 429 ApiError when any is over its limit. */
  check(buckets: Bucket[], nowMs = Date.now()): void {
    if (buckets.length === 0) return;
    const window = Math.floor(nowMs / this.options.windowMs);
    let over: Bucket | undefined;
    for (const b of buckets) {
      const { key } = this.#at(b, nowMs);
      let count = this.#counts.get(key);
      if (!count) this.#counts.set(key, count = { window, synced: 0, pending: 0, sending: 0 });
      count.pending++; // refused requests count too, as they always have
      if (!over && count.synced + count.sending + count.pending > b.limit) over = b;
    }
    this.#schedule();
    if (over) this.#refuse(over, window, nowMs);
  }

  /**
   * Like `check`, but counted in Redis before deciding: exact whatever the number of gateways.
   * When Redis does not answer within SHARED_WAIT_MS (down, or stalled with the connection open),
   * decides as `check` does (and the count reaches Redis later).
   */
  async checkShared(buckets: Bucket[], nowMs = Date.now()): Promise<void> {
    if (buckets.length === 0) return;
    const window = Math.floor(nowMs / this.options.windowMs);
    let totals: number[];
    try {
      totals = await answerWithin(
        this.#eval(
          buckets.map((b) => this.#at(b, nowMs).key),
          [String(this.options.windowMs + 1000), ...buckets.map(() => "1")],
        ),
      );
    } catch (e) {
      this.#failing(e);
      return this.check(buckets, nowMs);
    }
    const over = buckets.find((b, i) => Number(totals[i]) > b.limit);
    if (over) this.#refuse(over, window, nowMs);
  }

  /**
   * True when `bucket` is already over its limit in this window, as Redis counts it (with what this
   * process has not sent yet). When Redis does not answer within SHARED_WAIT_MS, as `isOver` tells.
   */
  async isOverShared(bucket: Bucket, nowMs = Date.now()): Promise<boolean> {
    const { key } = this.#at(bucket, nowMs);
    try {
      // not the counts in flight: Redis may hold them already, and counting them twice could refuse
      // an account wrongly; leaving them out errs by one sync at most
      const pending = this.#counts.get(key)?.pending ?? 0;
      return Number(await answerWithin(this.options.redis.get(key)) ?? 0) + pending > bucket.limit;
    } catch (e) {
      this.#failing(e);
      return this.isOver(bucket, nowMs);
    }
  }

  #refuse(over: Bucket, window: number, nowMs: number): never {
    const { windowMs } = this.options;
    this.options.rejected.inc({ scope: over.scope });
    const retryAfter = Math.max(1, Math.ceil(((window + 1) * windowMs - nowMs) / 1000));
    throw new ApiError(
      429,
      "RATE_LIMITED",
      `Too many requests: ${over.what ?? `the ${over.scope} limit`} is ${over.limit} per ${windowMs} ms; ` +
        `retry after ${retryAfter} s`,
      {
        headers: {
          "retry-after": String(retryAfter),
          "ratelimit-limit": String(over.limit),
          "ratelimit-remaining": "0",
          "ratelimit-reset": String(retryAfter),
        },
      },
    );
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#syncing || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#syncing = this.sync().finally(() => {
        this.#syncing = undefined;
        for (const c of this.#counts.values()) {
          if (c.pending > 0) return this.#schedule();
        }
      });
    }, this.options.syncMs ?? 50);
  }

  /** Adds the pending counts to Redis and reads the totals back. Resolves when done (never throws). */
  async sync(): Promise<void> {
    const window = Math.floor(Date.now() / this.options.windowMs);
    const keys: string[] = [];
    const sent: Count[] = [];
    for (const [key, c] of this.#counts) {
      if (c.pending === 0) {
        // a past window no request waits on any more
        if (c.window < window && c.sending === 0) this.#counts.delete(key);
        continue;
      }
      c.sending = c.pending;
      c.pending = 0;
      keys.push(key);
      sent.push(c);
    }
    if (keys.length === 0) return;
    try {
      const totals = await this.#eval(keys, [
        String(this.options.windowMs + 1000),
        ...sent.map((c) => String(c.sending)),
      ]);
      sent.forEach((c, i) => {
        c.synced = Number(totals[i]);
        c.sending = 0;
      });
      if (this.#syncFailing) {
        this.#syncFailing = false;
        this.options.log.info("rate limit counts synced again");
      }
    } catch (e) {
      this.#failing(e);
      for (const c of sent) {
        c.pending += c.sending;
        c.sending = 0;
      }
    }
  }

  /** Logs once when Redis stops answering (syncs are retried every flush); once when it answers again. */
  #failing(e: unknown): void {
    if (this.#syncFailing) return;
    this.#syncFailing = true;
    this.options.log.warn("rate limit counts not synced; kept, and synced again once Redis answers", {
      error: errorText(e),
    });
  }

  async #eval(keys: string[], args: string[]): Promise<number[]> {
    const { redis } = this.options;
    this.#sha ??= await redis.scriptLoad(SCRIPT);
    try {
      return await redis.evalSha(this.#sha, { keys, arguments: args }) as number[];
    } catch (e) {
      if (!String(e).includes("NOSCRIPT")) throw e;
      this.#sha = await redis.scriptLoad(SCRIPT);
      return await redis.evalSha(this.#sha, { keys, arguments: args }) as number[];
    }
  }

  /** Stops the timer and sends what is still counted. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#syncing;
    await this.sync();
  }
}
