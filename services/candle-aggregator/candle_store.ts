/**
 * The aggregator's Redis side: loads its saved state and writes each batch's changes in ONE
 * MULTI/EXEC, so candles, the last applied sequence (or tick cursor), the outbox for PostgreSQL,
 * the tickers and the `stream:candles` updates are all there or none is.
 * @module
 */
import { candleKeys, type CandleSeries, parseSeriesField } from "@lib/candles";
import { type Candle, keys, streamKey, STREAMS, type Ticker, TIMEFRAME_MS } from "@lib/contracts";
import { encodeEntry, type RedisClient } from "@lib/redis";
import type { AggregatorChanges } from "./aggregator.ts";

/** Saved state of one source: its forming candles and where it got to. */
export interface SavedState {
  forming: Candle[];
  /** Last applied execution seq per symbol (trade source). */
  seqs: Record<string, number>;
  /** Last applied tick entry id (index source). */
  tickCursor?: string;
}

/** Reads the forming candles of `source`, the applied sequences and the tick cursor. */
export async function loadState(
  redis: RedisClient,
  prefix: string,
  source: "trade" | "index",
): Promise<SavedState> {
  const [forming, seqs, tickCursor] = await Promise.all([
    redis.hGetAll(candleKeys.forming(prefix)),
    redis.hGetAll(candleKeys.tradeSeqs(prefix)),
    redis.get(candleKeys.tickCursor(prefix)),
  ]);
  const candles: Candle[] = [];
  for (const [field, json] of Object.entries(forming)) {
    const series = parseSeriesField(field);
    if (series?.source === source) candles.push(JSON.parse(String(json)) as Candle);
  }
  const out: SavedState = { forming: candles, seqs: {} };
  if (source === "trade") { for (const [s, v] of Object.entries(seqs)) out.seqs[s] = Number(v); }
  if (tickCursor) out.tickCursor = tickCursor;
  return out;
}

/** Closed 1m trade candles of a symbol from `since` (for the ticker window after a restart). */
export async function loadRecent1m(
  redis: RedisClient,
  prefix: string,
  symbol: string,
  since: number,
): Promise<Candle[]> {
  const members = await redis.zRange(
    candleKeys.closed(prefix, { symbol, timeframe: "1m", source: "trade" }),
    since,
    "+inf",
    { BY: "SCORE" },
  );
  return members.map((m) => JSON.parse(m) as Candle);
}

export interface PersistOptions {
  /** Approximate cap of `stream:candles` (XADD MAXLEN ~). */
  streamMaxLen: number;
  tickers?: Ticker[];
  /** New tick cursor (index source). */
  tickCursor?: string;
  /** Queue closed candles for PostgreSQL (false when the service keeps no history). @default {true} */
  outbox?: boolean;
}

/** Writes one batch's changes atomically. Resolves once Redis has executed the MULTI. */
export async function persistChanges(
  redis: RedisClient,
  prefix: string,
  changes: AggregatorChanges,
  options: PersistOptions,
): Promise<void> {
  const multi = redis.multi();
  const trim = {
    TRIM: { strategy: "MAXLEN" as const, strategyModifier: "~" as const, threshold: options.streamMaxLen },
  };
  const candlesKey = streamKey(prefix, STREAMS.candles);
  const series = new Set<string>();
  if (changes.closed.length > 0) {
    for (const c of changes.closed) {
      const s: CandleSeries = c;
      const key = candleKeys.closed(prefix, s);
      // one member per bucket even if a closed candle is ever rewritten
      multi.zRemRangeByScore(key, c.openTime, c.openTime);
      multi.zAdd(key, { score: c.openTime, value: JSON.stringify(c) });
      series.add(candleKeys.formingField(s));
    }
    multi.sAdd(candleKeys.seriesIndex(prefix), [...series]);
    if (options.outbox !== false) {
      multi.rPush(candleKeys.outbox(prefix), changes.closed.map((c) => JSON.stringify(c)));
    }
  }
  if (changes.forming.length > 0) {
    const fields: Record<string, string> = {};
    for (const c of changes.forming) fields[candleKeys.formingField(c)] = JSON.stringify(c);
    multi.hSet(candleKeys.forming(prefix), fields);
  }
  if (Object.keys(changes.seqs).length > 0) {
    const seqs: Record<string, string> = {};
    for (const [s, v] of Object.entries(changes.seqs)) seqs[s] = String(v);
    multi.hSet(candleKeys.tradeSeqs(prefix), seqs);
  }
  if (options.tickCursor) multi.set(candleKeys.tickCursor(prefix), options.tickCursor);
  for (const t of options.tickers ?? []) multi.set(keys.ticker(prefix, t.symbol), JSON.stringify(t));
  for (const c of changes.closed) multi.xAdd(candlesKey, "*", encodeEntry(STREAMS.candles, c), trim);
  for (const c of changes.forming) multi.xAdd(candlesKey, "*", encodeEntry(STREAMS.candles, c), trim);
  await multi.exec();
}

/** Retention of closed candles in Redis: how many to keep per series, by timeframe. */
export type Retention = Record<Candle["timeframe"], number>;

/** Keeps at least a day of 1m candles, which the ticker window reads after a restart. */
export function retentionFor(keep: number): Retention {
  return {
    "1s": keep,
    "5s": keep,
    "1m": Math.max(keep, 24 * 60 + 1),
    "5m": keep,
    "1h": keep,
    "1d": keep,
  };
}

/** Trims every series' closed candles to the retention (oldest first). */
export async function trimSeries(redis: RedisClient, prefix: string, retention: Retention): Promise<void> {
  const fields = await redis.sMembers(candleKeys.seriesIndex(prefix));
  if (fields.length === 0) return;
  const multi = redis.multi();
  for (const f of fields) {
    const s = parseSeriesField(f);
    if (s) multi.zRemRangeByRank(candleKeys.closed(prefix, s), 0, -(retention[s.timeframe] + 1));
  }
  await multi.execAsPipeline();
}

/** Milliseconds in a ticker window, for loading the recent 1m candles. */
export const DAY_MS = TIMEFRAME_MS["1d"];
