import { type Candle, type Timeframe, TIMEFRAME_MS } from "@lib/contracts";
import type { Sql } from "@lib/db";
import type { RedisClient } from "@lib/redis";
import { candleKeys, type CandleSeries } from "./keys.ts";
import { bucketStart, fillGaps } from "./math.ts";
import { lastCandleBefore, selectCandles } from "./pg.ts";

/** Candles returned when the caller sets no limit. */
export const DEFAULT_CANDLE_LIMIT = 500;
/** The most candles one read returns (a day of 1m candles is 1,440). */
export const MAX_CANDLE_LIMIT = 5000;

export interface CandleQuery {
  symbol: string;
  tf: Timeframe;
  /** Earliest openTime (ms, inclusive). With `from`, the first `limit` buckets from there are returned. */
  from?: number;
  /** Latest openTime (ms, inclusive); never later than the current bucket. Without `from`, the last `limit` up to here. */
  to?: number;
  /** @default {500}, at most MAX_CANDLE_LIMIT (5000) */
  limit?: number;
  /**
   * Return a flat zero-volume candle at the previous close for every bucket without trades
   * (never before the symbol's first candle). `false` returns only buckets that traded.
   * @default {true}
   */
  fill?: boolean;
  /** `trade` (from executions, the default) or `index` (the simulator's model price, from ticks). */
  source?: "trade" | "index";
  /** Wall clock in ms (tests); decides which buckets have closed. @default {Date.now()} */
  now?: number;
}

function parseCandle(json: string): Candle | undefined {
  try {
    return JSON.parse(json) as Candle;
  } catch {
    return undefined;
  }
}

/** What Redis holds for a series: its forming candle and the oldest closed openTime it keeps. */
async function redisView(redis: RedisClient, prefix: string, series: CandleSeries) {
  const [formingJson, oldest, watermark] = await Promise.all([
    redis.hGet(candleKeys.forming(prefix), candleKeys.formingField(series)),
    redis.zRangeWithScores(candleKeys.closed(prefix, series), 0, 0),
    redis.hGet(candleKeys.watermark(prefix), series.source),
  ]);
  const forming = formingJson ? parseCandle(formingJson) : undefined;
  let redisOldest = oldest[0] ? oldest[0].score : Infinity;
  if (forming && forming.openTime < redisOldest) redisOldest = forming.openTime;
  return { forming, redisOldest, watermark: watermark ? Number(watermark) : undefined };
}

/**
 * Stored candles with openTime in [lo, hi] from Redis (recent) and PostgreSQL (older), ascending,
 * at most `limit`: the first ones, or the last ones with `newest`.
 */
async function storedCandles(
  redis: RedisClient,
  sql: Sql | undefined,
  prefix: string,
  series: CandleSeries,
  range: { lo: number; hi: number; limit: number; newest: boolean },
  view: { forming?: Candle; redisOldest: number },
): Promise<Candle[]> {
  const key = candleKeys.closed(prefix, series);
  const members = range.newest
    ? (await redis.zRange(key, range.hi, range.lo, {
      BY: "SCORE",
      REV: true,
      LIMIT: { offset: 0, count: range.limit },
    })).reverse()
    : await redis.zRange(key, range.lo, range.hi, { BY: "SCORE", LIMIT: { offset: 0, count: range.limit } });
  const byTime = new Map<number, Candle>();
  if (sql && range.lo < view.redisOldest) {
    const older = await selectCandles(sql, series, {
      lo: range.lo,
      hi: Math.min(range.hi, view.redisOldest - 1),
      limit: range.limit,
      newest: range.newest,
    });
    for (const c of older) byTime.set(c.openTime, c);
  }
  for (const m of members) {
    const c = parseCandle(m);
    if (c) byTime.set(c.openTime, c);
  }
  const f = view.forming;
  if (f && f.openTime >= range.lo && f.openTime <= range.hi) byTime.set(f.openTime, f);
  const all = [...byTime.values()].sort((a, b) => a.openTime - b.openTime);
  return range.newest ? all.slice(-range.limit) : all.slice(0, range.limit);
}

/** The close of the last candle before `before` (Redis first, then PostgreSQL). */
async function closeBefore(
  redis: RedisClient,
  sql: Sql | undefined,
  prefix: string,
  series: CandleSeries,
  before: number,
  view: { forming?: Candle; redisOldest: number },
): Promise<string | undefined> {
  if (view.forming && view.forming.openTime < before) return view.forming.close;
  const [m] = await redis.zRange(candleKeys.closed(prefix, series), `(${before}`, "-inf", {
    BY: "SCORE",
    REV: true,
    LIMIT: { offset: 0, count: 1 },
  });
  const c = m ? parseCandle(m) : undefined;
  if (c) return c.close;
  if (!sql) return undefined;
  return (await lastCandleBefore(sql, series, before))?.close;
}

/**
 * Reads a symbol's candles ascending by openTime: recent ones from Redis, older ones from
 * PostgreSQL, transparently. A bucket without trades comes back (unless `fill: false`) as a flat
 * candle at the previous close with zero volume; nothing is invented before the symbol's first
 * candle or after the current bucket. A candle is `closed` once its bucket has ended.
 *
 * @param sql the PostgreSQL pool for history; without it only what Redis keeps is returned
 * @example
 * ```ts
 * const last60 = await readCandles(redis, sql, "kalency:v1", { symbol: "BTC-USD", tf: "1m", limit: 60 });
 * ```
 */
export async function readCandles(
  redis: RedisClient,
  sql: Sql | undefined,
  prefix: string,
  query: CandleQuery,
): Promise<Candle[]> {
  const tf = query.tf;
  const ms = TIMEFRAME_MS[tf];
  const now = query.now ?? Date.now();
  const limit = Math.max(1, Math.min(Math.trunc(query.limit ?? DEFAULT_CANDLE_LIMIT), MAX_CANDLE_LIMIT));
  const series: CandleSeries = { symbol: query.symbol, timeframe: tf, source: query.source ?? "trade" };
  const nowBucket = bucketStart(now, tf);
  const toBucket = Math.min(query.to !== undefined ? bucketStart(query.to, tf) : nowBucket, nowBucket);
  const fromBucket = query.from !== undefined ? bucketStart(query.from + ms - 1, tf) : undefined;
  if (fromBucket !== undefined && fromBucket > toBucket) return [];

  const view = await redisView(redis, prefix, series);
  // What the aggregator has surely applied: a bucket that ended after it may still get trades, so
  // it is not closed (a lagging or stopped aggregator would otherwise publish as final candles
  // that change later). Without a watermark (no aggregator ran), the clock.
  const known = view.watermark !== undefined && view.watermark < now ? view.watermark : now;
  const markClosed = (
    c: Candle,
  ): Candle => (!c.closed && c.openTime + ms <= known ? { ...c, closed: true } : c);

  if (query.fill === false) {
    const stored = await storedCandles(redis, sql, prefix, series, {
      lo: fromBucket ?? 0,
      hi: toBucket,
      limit,
      newest: fromBucket === undefined,
    }, view);
    return stored.map(markClosed);
  }

  let start = fromBucket ?? toBucket - (limit - 1) * ms;
  let prevClose: string | undefined;
  let before = false; // prevClose is known: the close before `start`, or none
  if (fromBucket !== undefined) {
    // Nothing is invented before the first candle, so a range that starts before it counts its
    // `limit` buckets from that candle; counted from `from`, they could all fall before it.
    prevClose = await closeBefore(redis, sql, prefix, series, fromBucket, view);
    before = true;
    if (prevClose === undefined) {
      const range = { lo: fromBucket, hi: toBucket, limit: 1, newest: false };
      const [first] = await storedCandles(redis, sql, prefix, series, range, view);
      if (!first) return [];
      start = first.openTime;
    }
  }
  const end = fromBucket !== undefined ? Math.min(toBucket, start + (limit - 1) * ms) : toBucket;
  const stored = await storedCandles(
    redis,
    sql,
    prefix,
    series,
    { lo: start, hi: end, limit, newest: false },
    view,
  );
  if (!before && stored[0]?.openTime !== start) {
    prevClose = await closeBefore(redis, sql, prefix, series, start, view);
  }
  // flat candles after the watermark are filled in as forming (not closed): trades may still come
  return fillGaps(stored.map(markClosed), { ...series, start, end, prevClose, now: known });
}
