/**
 * The stylized facts of real markets, computed from a price series: heavy-tailed one-minute returns
 * (positive excess kurtosis), returns that are nearly uncorrelated, absolute returns that are
 * positively and persistently correlated (volatility clustering), plus spread and trade-rate figures.
 * Pure statistics over floats (an analysis, not money).
 * @module
 */

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length ? s / xs.length : NaN;
}

/** Log returns between consecutive prices. */
export function logReturns(prices: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < prices.length; i++) out.push(Math.log(prices[i] / prices[i - 1]));
  return out;
}

/** Sample excess kurtosis m4 / m2^2 - 3 (0 for a normal distribution); NaN for fewer than 4 values. */
export function excessKurtosis(xs: readonly number[]): number {
  if (xs.length < 4) return NaN;
  const m = mean(xs);
  let m2 = 0;
  let m4 = 0;
  for (const x of xs) {
    const d2 = (x - m) * (x - m);
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= xs.length;
  m4 /= xs.length;
  return m2 === 0 ? NaN : m4 / (m2 * m2) - 3;
}

/** Sample autocorrelation at `lag` (the usual estimator: lagged covariance over the full variance). */
export function autocorrelation(xs: readonly number[], lag: number): number {
  if (lag <= 0 || xs.length <= lag + 1) return NaN;
  const m = mean(xs);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    const d = xs[i] - m;
    den += d * d;
    if (i + lag < xs.length) num += d * (xs[i + lag] - m);
  }
  return den === 0 ? NaN : num / den;
}

/** A trade as the statistics need it (floats). */
export interface TradePoint {
  ts: number;
  price: number;
  qty?: number;
}

/**
 * Close of each `bucketMs` bucket in [fromMs, toMs): the last trade price in it; an empty bucket
 * repeats the previous close (as candles fill gaps). Buckets before the first trade are left out.
 */
export function bucketCloses(
  trades: readonly TradePoint[],
  bucketMs: number,
  fromMs: number,
  toMs: number,
): number[] {
  const start = Math.floor(fromMs / bucketMs) * bucketMs;
  const n = Math.max(0, Math.ceil((toMs - start) / bucketMs));
  const last: (number | undefined)[] = new Array(n).fill(undefined);
  for (const t of trades) {
    if (t.ts < fromMs || t.ts >= toMs) continue;
    last[Math.floor((t.ts - start) / bucketMs)] = t.price; // trades are in time order: the last one wins
  }
  const out: number[] = [];
  let prev: number | undefined;
  for (const p of last) {
    if (p !== undefined) prev = p;
    if (prev !== undefined) out.push(prev);
  }
  return out;
}

/**
 * Roll's estimate of the effective spread from trade prices alone: 2 sqrt(-cov(dp_t, dp_t-1)).
 * Undefined when the covariance is not negative (the estimator does not apply).
 */
export function rollSpread(prices: readonly number[]): number | undefined {
  const d: number[] = [];
  for (let i = 1; i < prices.length; i++) d.push(prices[i] - prices[i - 1]);
  if (d.length < 3) return undefined;
  const m = mean(d);
  let cov = 0;
  for (let i = 1; i < d.length; i++) cov += (d[i] - m) * (d[i - 1] - m);
  cov /= d.length - 1;
  return cov < 0 ? 2 * Math.sqrt(-cov) : undefined;
}

/** A change of price levels (price and new total quantity, "0" removes), as the engine's BookDelta. */
export interface LevelChange {
  ts: number;
  bids: readonly (readonly [string, string])[];
  asks: readonly (readonly [string, string])[];
}

/**
 * Time-weighted average quoted spread in basis points of the mid over [fromMs, toMs), from a book
 * rebuilt by applying level changes in order. Changes before `fromMs` only warm the book up.
 * Undefined when both sides were never present at once inside the window.
 */
export function quotedSpreadBps(
  changes: Iterable<LevelChange>,
  fromMs: number,
  toMs: number,
): number | undefined {
  const bids = new Map<string, number>();
  const asks = new Map<string, number>();
  let weighted = 0;
  let covered = 0;
  let current: number | undefined;
  let since = fromMs;
  const close = (until: number) => {
    if (current !== undefined && until > since) {
      weighted += current * (until - since);
      covered += until - since;
    }
  };
  for (const c of changes) {
    if (c.ts >= toMs) break;
    if (c.ts >= fromMs) {
      close(c.ts);
      since = c.ts;
    }
    for (const [p, q] of c.bids) Number(q) > 0 ? bids.set(p, Number(p)) : bids.delete(p);
    for (const [p, q] of c.asks) Number(q) > 0 ? asks.set(p, Number(p)) : asks.delete(p);
    let bid = -Infinity;
    for (const v of bids.values()) if (v > bid) bid = v;
    let ask = Infinity;
    for (const v of asks.values()) if (v < ask) ask = v;
    current = Number.isFinite(bid) && Number.isFinite(ask) && ask > bid
      ? (ask - bid) / ((ask + bid) / 2) * 10_000
      : undefined;
  }
  close(toMs);
  return covered > 0 ? weighted / covered : undefined;
}

export interface ReturnFacts {
  /** Number of returns the figures are computed from. */
  returns: number;
  excessKurtosis: number;
  acf1: number;
  /** Autocorrelation of |returns| at lags 1..10 (index 0 is lag 1). */
  absAcf: number[];
  /** Standard deviation of the returns. */
  stdev: number;
}

/** Kurtosis, return autocorrelation and absolute-return autocorrelations of a close series. */
export function returnFacts(closes: readonly number[], maxLag = 10): ReturnFacts {
  const r = logReturns(closes);
  const abs = r.map(Math.abs);
  const m = mean(r);
  let v = 0;
  for (const x of r) v += (x - m) * (x - m);
  const absAcf: number[] = [];
  for (let k = 1; k <= maxLag; k++) absAcf.push(autocorrelation(abs, k));
  return {
    returns: r.length,
    excessKurtosis: excessKurtosis(r),
    acf1: autocorrelation(r, 1),
    absAcf,
    stdev: r.length > 1 ? Math.sqrt(v / (r.length - 1)) : NaN,
  };
}

/** The thresholds a realistic run passes, and what real markets show. */
export const TEXTBOOK = {
  excessKurtosis: {
    pass: (x: number) => x > 1,
    text: "> 1; intraday returns of real markets are heavy-tailed, commonly several to tens",
  },
  acf1: { pass: (x: number) => Math.abs(x) < 0.1, text: "|value| < 0.1; real markets are near 0" },
  absAcf1: {
    pass: (x: number) => x > 0.1,
    text: "> 0.1; real markets: positive, about 0.1 to 0.3, decaying slowly (power law)",
  },
} as const;

/** Which stylized facts a result reproduces. */
export function checkFacts(f: ReturnFacts): { excessKurtosis: boolean; acf1: boolean; absAcf1: boolean } {
  return {
    excessKurtosis: TEXTBOOK.excessKurtosis.pass(f.excessKurtosis),
    acf1: TEXTBOOK.acf1.pass(f.acf1),
    absAcf1: TEXTBOOK.absAcf1.pass(f.absAcf[0]),
  };
}
