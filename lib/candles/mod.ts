/**
 * Candle storage shared by the candle aggregator (which writes it) and the gateway (which reads it):
 * the pure candle arithmetic, the Redis keys, the PostgreSQL history table, and one read function
 * that serves recent candles from Redis and older ones from PostgreSQL.
 *
 * @example
 * ```ts
 * import { readCandles } from "@lib/candles";
 * const candles = await readCandles(redis, sql, prefix, { symbol: "BTC-USD", tf: "1m", from, to });
 * ```
 * @module
 */
export * from "./math.ts";
export * from "./keys.ts";
export { lastCandleBefore, pruneShortCandles, selectCandles, SHORT_TIMEFRAMES, upsertCandles } from "./pg.ts";
export { type CandleQuery, DEFAULT_CANDLE_LIMIT, MAX_CANDLE_LIMIT, readCandles } from "./read.ts";
