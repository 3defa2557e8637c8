/**
 * Pure candle arithmetic: buckets, exact decimal accumulation, merging and gap filling. No I/O, no
 * clock: every function takes its time as an argument.
 *
 * Amounts are held as bigints scaled by 10^18 (the precision of the `numeric(38,18)` columns), so
 * sums and comparisons are exact; they become decimal strings only at the edges.
 * @module
 */
import { type Candle, type Timeframe, TIMEFRAME_MS, TIMEFRAMES } from "@lib/contracts";

/** Fractional digits every accumulated amount keeps. */
export const SCALE = 18;
const ZEROS = "0".repeat(SCALE);
const ONE = 10n ** BigInt(SCALE);

/** Thrown for a decimal that cannot be held exactly at {@linkcode SCALE} digits. */
export class CandleMathError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "CandleMathError";
  }
}

/**
 * Parses a decimal string ("65000.25", "-1.5") into an integer scaled by 10^18.
 * @throws {CandleMathError} when malformed or with more than 18 significant fractional digits
 */
export function toScaled(text: string): bigint {
  const dot = text.indexOf(".");
  if (dot < 0) {
    if (!/^-?[0-9]+$/.test(text)) throw new CandleMathError(`"${text}" is not a decimal number`);
    return BigInt(text + ZEROS);
  }
  let frac = text.slice(dot + 1);
  if (frac.length > SCALE) {
    const extra = frac.slice(SCALE);
    if (!/^0*$/.test(extra)) {
      throw new CandleMathError(`"${text}" has more than ${SCALE} decimal places`);
    }
    frac = frac.slice(0, SCALE);
  }
  const int = text.slice(0, dot);
  if (!/^-?[0-9]+$/.test(int) || !/^[0-9]*$/.test(frac)) {
    throw new CandleMathError(`"${text}" is not a decimal number`);
  }
  return BigInt(int + frac + ZEROS.slice(frac.length));
}

/** Formats an integer scaled by 10^18 as the shortest exact decimal string ("1.5", "-0.25", "3"). */
export function fromScaled(value: bigint): string {
  const neg = value < 0n;
  const abs = neg ? -value : value;
  const int = abs / ONE;
  const frac = abs % ONE;
  let out = int.toString();
  if (frac !== 0n) out += "." + frac.toString().padStart(SCALE, "0").replace(/0+$/, "");
  return neg ? "-" + out : out;
}

/** Rewrites any decimal string in the shortest form ("65000.250000" -> "65000.25"). */
export function normalizeDecimal(text: string): string {
  return fromScaled(toScaled(text));
}

/** Start (ms, UTC) of the bucket of `tf` that holds `ts`: buckets are half-open [start, start + tf). */
export function bucketStart(ts: number, tf: Timeframe): number {
  const ms = TIMEFRAME_MS[tf];
  return ts - (((ts % ms) + ms) % ms);
}

/** Parses a timeframe as the original API accepted it: trimmed, case-insensitive ("1H" -> "1h"). */
export function parseTimeframe(text: string): Timeframe | undefined {
  const t = text.trim().toLowerCase();
  return (TIMEFRAMES as readonly string[]).includes(t) ? t as Timeframe : undefined;
}

/** A candle being built, amounts scaled by 10^18. */
export interface CandleAcc {
  openTime: number;
  open: bigint;
  high: bigint;
  low: bigint;
  close: bigint;
  volume: bigint;
  quoteVolume: bigint;
  trades: number;
}

/** A new candle holding one trade (or one tick). */
export function newAcc(openTime: number, price: bigint, qty: bigint, quote: bigint, trades = 1): CandleAcc {
  return {
    openTime,
    open: price,
    high: price,
    low: price,
    close: price,
    volume: qty,
    quoteVolume: quote,
    trades,
  };
}

/** Adds one trade to a candle of the same bucket (mutates). */
export function addTrade(acc: CandleAcc, price: bigint, qty: bigint, quote: bigint, trades = 1): void {
  if (price > acc.high) acc.high = price;
  if (price < acc.low) acc.low = price;
  acc.close = price;
  acc.volume += qty;
  acc.quoteVolume += quote;
  acc.trades += trades;
}

/** Folds a later candle into an earlier one of a wider bucket (mutates `into`): first open, last close. */
export function mergeInto(into: CandleAcc, later: CandleAcc): void {
  if (later.high > into.high) into.high = later.high;
  if (later.low < into.low) into.low = later.low;
  into.close = later.close;
  into.volume += later.volume;
  into.quoteVolume += later.quoteVolume;
  into.trades += later.trades;
}

/** A copy of a candle accumulator. */
export function cloneAcc(acc: CandleAcc): CandleAcc {
  return { ...acc };
}

/** The wire form of an accumulator. */
export function accToCandle(
  acc: CandleAcc,
  series: { symbol: string; timeframe: Timeframe; source: "trade" | "index" },
  closed: boolean,
): Candle {
  return {
    symbol: series.symbol,
    timeframe: series.timeframe,
    openTime: acc.openTime,
    closeTime: acc.openTime + TIMEFRAME_MS[series.timeframe] - 1,
    open: fromScaled(acc.open),
    high: fromScaled(acc.high),
    low: fromScaled(acc.low),
    close: fromScaled(acc.close),
    volume: fromScaled(acc.volume),
    quoteVolume: fromScaled(acc.quoteVolume),
    trades: acc.trades,
    closed,
    source: series.source,
  };
}

/** The accumulator of a wire candle. */
export function candleToAcc(c: Candle): CandleAcc {
  return {
    openTime: c.openTime,
    open: toScaled(c.open),
    high: toScaled(c.high),
    low: toScaled(c.low),
    close: toScaled(c.close),
    volume: toScaled(c.volume),
    quoteVolume: toScaled(c.quoteVolume),
    trades: c.trades,
  };
}

/**
 * Aggregates candles of a narrower timeframe (ascending, one symbol and source) into `tf`: first
 * open, highest high, lowest low, last close, summed volumes and counts. The result holds only
 * buckets that contain at least one input candle; `closed` is copied from the bucket's last input.
 */
export function aggregateCandles(candles: readonly Candle[], tf: Timeframe): Candle[] {
  const out: Candle[] = [];
  let acc: CandleAcc | undefined;
  let last: Candle | undefined;
  const flush = () => {
    if (acc && last) {
      out.push(accToCandle(acc, { symbol: last.symbol, timeframe: tf, source: last.source }, last.closed));
    }
  };
  for (const c of candles) {
    const start = bucketStart(c.openTime, tf);
    const a = candleToAcc(c);
    if (acc && acc.openTime === start) mergeInto(acc, a);
    else {
      flush();
      acc = { ...a, openTime: start };
    }
    last = c;
  }
  flush();
  return out;
}

/** A flat, zero-volume candle at `price` for a bucket without trades. */
export function emptyCandle(
  series: { symbol: string; timeframe: Timeframe; source: "trade" | "index" },
  openTime: number,
  price: string,
  closed: boolean,
): Candle {
  return {
    symbol: series.symbol,
    timeframe: series.timeframe,
    openTime,
    closeTime: openTime + TIMEFRAME_MS[series.timeframe] - 1,
    open: price,
    high: price,
    low: price,
    close: price,
    volume: "0",
    quoteVolume: "0",
    trades: 0,
    closed,
    source: series.source,
  };
}

export interface FillOptions {
  symbol: string;
  timeframe: Timeframe;
  source: "trade" | "index";
  /** First bucket to return (aligned); buckets before the first known price are never invented. */
  start: number;
  /** Last bucket to return (aligned, inclusive). */
  end: number;
  /** Close of the last candle before `start`, when there is one. */
  prevClose?: string;
  /** Wall clock: a filled bucket is closed when it has ended by then. */
  now: number;
}

/**
 * Returns one candle per bucket from `start` to `end`: the stored candle when there is one, else a
 * flat zero-volume candle at the previous close. Buckets before the symbol's first known price are
 * skipped. `stored` must be ascending and inside [start, end].
 */
export function fillGaps(stored: readonly Candle[], options: FillOptions): Candle[] {
  const ms = TIMEFRAME_MS[options.timeframe];
  const out: Candle[] = [];
  let prev = options.prevClose;
  let i = 0;
  for (let t = options.start; t <= options.end; t += ms) {
    while (i < stored.length && stored[i].openTime < t) i++;
    const c = stored[i];
    if (c && c.openTime === t) {
      out.push(c);
      prev = c.close;
      i++;
      continue;
    }
    if (prev !== undefined) out.push(emptyCandle(options, t, prev, t + ms <= options.now));
  }
  return out;
}
