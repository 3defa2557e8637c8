/**
 * Rolling 24-hour statistics per symbol, computed from its 1m trade candles. Pure: after a trade the
 * window ends at the symbol's latest 1m bucket, so replaying the same trades gives the same tickers;
 * {@linkcode TickerBook.roll} moves the windows of quiet symbols on to a given time, so that their
 * old trades leave the 24 hours as they would on any exchange.
 * @module
 */
import { type CandleAcc, candleToAcc, cloneAcc, fromScaled, mergeInto } from "@lib/candles";
import type { Candle, Ticker } from "@lib/contracts";
import { percentText } from "@lib/money";

const MINUTE = 60_000;
/** 1m buckets in the window, the current one included. */
export const TICKER_WINDOW_MINUTES = 1440;

/** Keeps the last 24 hours of 1m candles per symbol and derives {@linkcode Ticker}s from them. */
export class TickerBook {
  #windows = new Map<string, Map<number, CandleAcc>>();
  /** Per symbol: the last price and the time of the last trade, which outlive the window's candles. */
  #last = new Map<string, { close: bigint; ts: number }>();

  /** Records 1m candles (closed or forming, any order within a batch); others are ignored. */
  update(candles: readonly Candle[]): void {
    for (const c of candles) {
      if (c.timeframe !== "1m" || c.source !== "trade") continue;
      let w = this.#windows.get(c.symbol);
      if (!w) this.#windows.set(c.symbol, w = new Map());
      w.set(c.openTime, candleToAcc(c));
    }
  }

  /**
   * The ticker of a symbol as of its latest 1m bucket, or of `asOf`'s bucket when that is later;
   * `ts` is the time of its last trade. With no trade left in the window: the last price, nothing
   * traded (volume, change and trades 0).
   */
  ticker(symbol: string, ts: number, asOf?: number): Ticker | undefined {
    const w = this.#windows.get(symbol);
    if (!w || (w.size === 0 && !this.#last.has(symbol))) return undefined;
    let end = w.size > 0 ? Math.max(...w.keys()) : -Infinity;
    if (asOf !== undefined) end = Math.max(end, asOf - (asOf % MINUTE));
    const first = end - (TICKER_WINDOW_MINUTES - 1) * MINUTE;
    for (const t of w.keys()) if (t < first) w.delete(t);
    const times = [...w.keys()].sort((a, b) => a - b);
    let acc: CandleAcc | undefined;
    for (const t of times) {
      const c = w.get(t)!;
      if (acc) mergeInto(acc, c);
      else acc = cloneAcc(c);
    }
    if (acc) this.#last.set(symbol, { close: acc.close, ts });
    const last = this.#last.get(symbol)!;
    const close = acc?.close ?? last.close;
    const open = acc?.open ?? last.close;
    const change = close - open;
    return {
      symbol,
      last: fromScaled(close),
      open24h: fromScaled(open),
      high24h: fromScaled(acc?.high ?? close),
      low24h: fromScaled(acc?.low ?? close),
      volume24h: fromScaled(acc?.volume ?? 0n),
      quoteVolume24h: fromScaled(acc?.quoteVolume ?? 0n),
      change24h: fromScaled(change),
      changePct24h: percentText(change, open),
      trades24h: acc?.trades ?? 0,
      ts: acc ? ts : last.ts,
    };
  }

  /** After a restart: the time of a symbol's last trade, as the ticker last written said it. */
  noteLastTrade(symbol: string, ts: number): void {
    this.ticker(symbol, ts);
  }

  /**
   * The tickers that change when the window moves on to `now` without a trade: those of symbols
   * whose oldest 1m bucket in the window has fallen out of it.
   */
  roll(now: number): Ticker[] {
    const first = now - (now % MINUTE) - (TICKER_WINDOW_MINUTES - 1) * MINUTE;
    const out: Ticker[] = [];
    for (const [symbol, w] of this.#windows) {
      let stale = false;
      for (const t of w.keys()) {
        if (t < first) {
          stale = true;
          break;
        }
      }
      const last = this.#last.get(symbol);
      // the time of its last trade is not known yet (see noteLastTrade): roll it after its next trade
      if (!stale || last === undefined) continue;
      const t = this.ticker(symbol, last.ts, now);
      if (t) out.push(t);
    }
    return out;
  }
}
