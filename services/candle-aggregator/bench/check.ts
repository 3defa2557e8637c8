/**
 * The candle benchmark's check: the 1m trade candles the service produced against a direct
 * computation from the executions it was fed, so that a wrong result reports no speed.
 * @module
 */
import type { Candle, Execution } from "@lib/contracts";
import { type CandleAcc, toScaled } from "@lib/candles";

const MINUTE_MS = 60_000;

/** One 1m bucket of one symbol, amounts scaled by 10^18 (the shape the service builds, computed apart). */
export interface ExpectedBucket extends CandleAcc {
  symbol: string;
}

const bucketKey = (symbol: string, openTime: number) => `${symbol} ${new Date(openTime).toISOString()}`;

/** The 1m buckets of `executions` (in stream order, each symbol's trades in time order). */
export function expectedMinuteCandles(executions: readonly Execution[]): Map<string, ExpectedBucket> {
  const out = new Map<string, ExpectedBucket>();
  for (const e of executions) {
    const openTime = e.ts - (e.ts % MINUTE_MS);
    const key = bucketKey(e.symbol, openTime);
    const price = toScaled(e.price);
    const qty = toScaled(e.qty);
    const quote = toScaled(e.quoteQty);
    const b = out.get(key);
    if (!b) {
      out.set(key, {
        symbol: e.symbol,
        openTime,
        open: price,
        high: price,
        low: price,
        close: price,
        volume: qty,
        quoteVolume: quote,
        trades: 1,
      });
      continue;
    }
    if (price > b.high) b.high = price;
    if (price < b.low) b.low = price;
    b.close = price;
    b.volume += qty;
    b.quoteVolume += quote;
    b.trades++;
  }
  return out;
}

/**
 * What differs between the expected buckets and the service's 1m trade candles (closed ones from
 * PostgreSQL and the forming ones): the totals of trades and volume, then every bucket's OHLC,
 * volume and trade count. Empty when they agree. At most `limit` bucket differences are listed.
 */
export function candleDifferences(
  expected: Map<string, ExpectedBucket>,
  candles: readonly Candle[],
  limit = 10,
): string[] {
  const diffs: string[] = [];
  const got = new Map<string, Candle>();
  for (const c of candles) {
    if (c.timeframe !== "1m" || c.source !== "trade") continue;
    const key = bucketKey(c.symbol, c.openTime);
    if (got.has(key)) diffs.push(`${key}: two candles`);
    got.set(key, c);
  }
  const sum = <T>(xs: Iterable<T>, f: (x: T) => bigint) => {
    let s = 0n;
    for (const x of xs) s += f(x);
    return s;
  };
  const wantTrades = sum(expected.values(), (b) => BigInt(b.trades));
  const gotTrades = sum(got.values(), (c) => BigInt(c.trades));
  if (wantTrades !== gotTrades) diffs.push(`trades: ${gotTrades} in the candles, ${wantTrades} fed`);
  const wantVolume = sum(expected.values(), (b) => b.volume);
  const gotVolume = sum(got.values(), (c) => toScaled(c.volume));
  if (wantVolume !== gotVolume) {
    diffs.push(`volume: ${gotVolume} in the candles, ${wantVolume} fed (scaled 1e18)`);
  }
  let listed = 0;
  const note = (text: string) => {
    if (listed++ < limit) diffs.push(text);
  };
  for (const [key, b] of expected) {
    const c = got.get(key);
    if (!c) {
      note(`${key}: missing`);
      continue;
    }
    const fields: [string, bigint | number, bigint | number][] = [
      ["open", b.open, toScaled(c.open)],
      ["high", b.high, toScaled(c.high)],
      ["low", b.low, toScaled(c.low)],
      ["close", b.close, toScaled(c.close)],
      ["volume", b.volume, toScaled(c.volume)],
      ["quoteVolume", b.quoteVolume, toScaled(c.quoteVolume)],
      ["trades", b.trades, c.trades],
    ];
    const wrong = fields.filter(([, want, have]) => want !== have).map(([f]) => f);
    if (wrong.length) note(`${key}: ${wrong.join(", ")} differ (${c.open}/${c.high}/${c.low}/${c.close})`);
  }
  for (const key of got.keys()) if (!expected.has(key)) note(`${key}: a candle without trades fed`);
  if (listed > limit) diffs.push(`... and ${listed - limit} more buckets`);
  return diffs;
}
