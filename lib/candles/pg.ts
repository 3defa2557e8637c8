import type { Candle, Timeframe } from "@lib/contracts";
import { TIMEFRAME_MS } from "@lib/contracts";
import type { Sql } from "@lib/db";
import type { CandleSeries } from "./keys.ts";
import { normalizeDecimal } from "./math.ts";

interface CandleRow {
  symbol: string;
  timeframe: string;
  source: string;
  open_time: Date;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  quote_volume: string;
  trades: number;
}

function fromRow(r: CandleRow): Candle {
  const openTime = r.open_time.getTime();
  const tf = r.timeframe as Timeframe;
  return {
    symbol: r.symbol,
    timeframe: tf,
    openTime,
    closeTime: openTime + TIMEFRAME_MS[tf] - 1,
    open: normalizeDecimal(r.open),
    high: normalizeDecimal(r.high),
    low: normalizeDecimal(r.low),
    close: normalizeDecimal(r.close),
    volume: normalizeDecimal(r.volume),
    quoteVolume: normalizeDecimal(r.quote_volume),
    trades: Number(r.trades),
    closed: true,
    source: r.source as "trade" | "index",
  };
}

/**
 * Writes closed candles to the `candles` table in one statement; a candle already there is
 * overwritten (closed candles are final, so a rewrite after a redelivery writes the same values).
 */
export async function upsertCandles(sql: Sql, candles: readonly Candle[]): Promise<number> {
  const byKey = new Map<string, Candle>();
  for (const c of candles) byKey.set(`${c.source}:${c.symbol}:${c.timeframe}:${c.openTime}`, c);
  const rows = [...byKey.values()];
  if (rows.length === 0) return 0;
  const col = <T>(f: (c: Candle) => T) => rows.map(f);
  await sql`
    INSERT INTO candles (symbol, timeframe, source, open_time, open, high, low, close, volume, quote_volume, trades)
    SELECT * FROM unnest(
      ${col((c) => c.symbol)}::text[], ${col((c) => c.timeframe)}::text[], ${col((c) => c.source)}::text[],
      ${col((c) => new Date(c.openTime).toISOString())}::timestamptz[],
      ${col((c) => c.open)}::numeric[], ${col((c) => c.high)}::numeric[], ${col((c) => c.low)}::numeric[],
      ${col((c) => c.close)}::numeric[], ${col((c) => c.volume)}::numeric[], ${
    col((c) => c.quoteVolume)
  }::numeric[],
      ${col((c) => c.trades)}::int[])
    ON CONFLICT (symbol, timeframe, source, open_time) DO UPDATE SET
      open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
      volume = EXCLUDED.volume, quote_volume = EXCLUDED.quote_volume, trades = EXCLUDED.trades`;
  return rows.length;
}

/** Stored candles of a series with openTime in [lo, hi], ascending; `newest` keeps the last `limit`. */
export async function selectCandles(
  sql: Sql,
  series: CandleSeries,
  range: { lo: number; hi: number; limit: number; newest?: boolean },
): Promise<Candle[]> {
  const lo = new Date(Math.max(range.lo, 0));
  const hi = new Date(Math.min(range.hi, 8.64e15));
  const rows = range.newest
    ? await sql<CandleRow[]>`
      SELECT * FROM candles WHERE symbol = ${series.symbol} AND timeframe = ${series.timeframe}
        AND source = ${series.source} AND open_time BETWEEN ${lo} AND ${hi}
      ORDER BY open_time DESC LIMIT ${range.limit}`
    : await sql<CandleRow[]>`
      SELECT * FROM candles WHERE symbol = ${series.symbol} AND timeframe = ${series.timeframe}
        AND source = ${series.source} AND open_time BETWEEN ${lo} AND ${hi}
      ORDER BY open_time ASC LIMIT ${range.limit}`;
  const out = rows.map(fromRow);
  return range.newest ? out.reverse() : out;
}

/** The last stored candle of a series that opened before `before`, if any. */
export async function lastCandleBefore(
  sql: Sql,
  series: CandleSeries,
  before: number,
): Promise<Candle | undefined> {
  const rows = await sql<CandleRow[]>`
    SELECT * FROM candles WHERE symbol = ${series.symbol} AND timeframe = ${series.timeframe}
      AND source = ${series.source} AND open_time < ${new Date(before)}
    ORDER BY open_time DESC LIMIT 1`;
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Timeframes whose history in PostgreSQL is kept for a limited time (86,400 rows a day per series at 1s). */
export const SHORT_TIMEFRAMES = ["1s", "5s"] as const;

/**
 * Deletes candles of the short timeframes that opened more than `keepDays` days before `now`.
 * Returns how many rows went.
 */
export async function pruneShortCandles(sql: Sql, keepDays: number, now = Date.now()): Promise<number> {
  const before = new Date(now - keepDays * 86_400_000).toISOString();
  const result = await sql`DELETE FROM candles
    WHERE timeframe IN ${sql([...SHORT_TIMEFRAMES])} AND open_time < ${before}::timestamptz`;
  return result.count;
}
