import type { Timeframe } from "@lib/contracts";

/** A candle series: one symbol, one timeframe, one source. */
export interface CandleSeries {
  symbol: string;
  timeframe: Timeframe;
  source: "trade" | "index";
}

/**
 * Redis keys of the candle store, all under the deployment prefix. Every reader knows the exact key
 * of the series it wants, so nothing ever scans the keyspace.
 */
export const candleKeys = {
  /** Sorted set of a series' closed candles: score = openTime, member = Candle JSON. */
  closed: (prefix: string, s: CandleSeries): string =>
    `${prefix}:candles:${s.source}:${s.symbol}:${s.timeframe}`,
  /** Hash: {@linkcode candleKeys.formingField} -> Candle JSON of the series' forming candle. */
  forming: (prefix: string): string => `${prefix}:candles:forming`,
  formingField: (s: CandleSeries): string => `${s.source}:${s.symbol}:${s.timeframe}`,
  /** Hash: symbol -> last execution seq applied to the trade candles. */
  tradeSeqs: (prefix: string): string => `${prefix}:candles:seq`,
  /**
   * Hash: source ("trade", "index") -> ms before which every trade (tick) is in the candles: what
   * the aggregator had drained, less a margin for entries still being committed. Readers mark a
   * candle closed only once its bucket ended before this.
   */
  watermark: (prefix: string): string => `${prefix}:candles:watermark`,
  /** String: id of the last tick stream entry applied to the index candles. */
  tickCursor: (prefix: string): string => `${prefix}:candles:tick-cursor`,
  /** List of closed Candle JSON waiting to be written to PostgreSQL (oldest first). */
  outbox: (prefix: string): string => `${prefix}:candles:outbox`,
  /** Set of series keys ("source:symbol:tf") that have closed candles, for trimming without SCAN. */
  seriesIndex: (prefix: string): string => `${prefix}:candles:series`,
} as const;

/** Parses a series field ("trade:BTC-USD:1m") back into its parts. */
export function parseSeriesField(field: string): CandleSeries | undefined {
  const m = /^(trade|index):([^:]+):(1s|5s|1m|5m|1h|1d)$/.exec(field);
  if (!m) return undefined;
  return { source: m[1] as "trade" | "index", symbol: m[2], timeframe: m[3] as Timeframe };
}
