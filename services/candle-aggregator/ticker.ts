/**
 * Rolling 24-hour statistics per symbol, computed from its 1m trade candles. Pure: the window ends
 * at the symbol's latest 1m bucket, so replaying the same trades gives the same tickers.
 * @module
 */
import { type CandleAcc, candleToAcc, cloneAcc, fromScaled, mergeInto } from "@lib/candles";
import type { Candle, Ticker } from "@lib/contracts";

const MINUTE = 60_000;
/** 1m buckets in the window, the current one included. */
export const TICKER_WINDOW_MINUTES = 1440;

/** Percent change with two decimals, rounded half away from zero ("-1.25"). */
export function changePct(change: bigint, open: bigint): string {
  if (open === 0n) return "0.00";
  const neg = change < 0n;
  const abs = neg ? -change : change;
  const hundredths = (abs * 20_000n + open) / (2n * open); // round(abs * 10000 / open)
  const text = `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, "0")}`;
  return neg && hundredths !== 0n ? `-${text}` : text;
}

/** Keeps the last 24 hours of 1m candles per symbol and derives {@linkcode Ticker}s from them. */
export class TickerBook {
  #windows = new Map<string, Map<number, CandleAcc>>();

  /** Records 1m candles (closed or forming, any order within a batch); others are ignored. */
  update(candles: readonly Candle[]): void {
    for (const c of candles) {
      if (c.timeframe !== "1m" || c.source !== "trade") continue;
      let w = this.#windows.get(c.symbol);
      if (!w) this.#windows.set(c.symbol, w = new Map());
      w.set(c.openTime, candleToAcc(c));
    }
  }

  /** The ticker of a symbol as of its latest 1m bucket; `ts` is the time of its last trade. */
  ticker(symbol: string, ts: number): Ticker | undefined {
    const w = this.#windows.get(symbol);
    if (!w || w.size === 0) return undefined;
    const latest = Math.max(...w.keys());
    const first = latest - (TICKER_WINDOW_MINUTES - 1) * MINUTE;
    for (const t of w.keys()) if (t < first) w.delete(t);
    const times = [...w.keys()].sort((a, b) => a - b);
    let acc: CandleAcc | undefined;
    for (const t of times) {
      const c = w.get(t)!;
      if (acc) mergeInto(acc, c);
      else acc = cloneAcc(c);
    }
    const a = acc!;
    const change = a.close - a.open;
    return {
      symbol,
      last: fromScaled(a.close),
      open24h: fromScaled(a.open),
      high24h: fromScaled(a.high),
      low24h: fromScaled(a.low),
      volume24h: fromScaled(a.volume),
      quoteVolume24h: fromScaled(a.quoteVolume),
      change24h: fromScaled(change),
      changePct24h: changePct(change, a.open),
      trades24h: a.trades,
      ts,
    };
  }
}
