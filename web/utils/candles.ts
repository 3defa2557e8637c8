/**
 * Candle series for the chart: the gateway's candles (decimal strings, ms times) become columns of
 * numbers that uPlot draws (seconds on x). Merging keeps one bar per bucket, newest data winning, so
 * live updates of the forming candle, history pages loaded on scroll and a reconnect's refetch can
 * arrive in any order.
 * @module
 */

export interface CandleLike {
  openTime: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

/** One bar in display numbers: t in seconds. */
export interface Bar {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
}

/** Timeframes the trade page offers, with their length in ms. */
export const CHART_TIMEFRAMES = {
  "1s": 1_000,
  "5s": 5_000,
  "1m": 60_000,
  "5m": 300_000,
  "1h": 3_600_000,
} as const;
export type ChartTimeframe = keyof typeof CHART_TIMEFRAMES;

/** Visible ranges (the original's 15m / 1h / 4h / 24h), in ms. */
export const CHART_RANGES = { "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000, "24h": 86_400_000 } as const;
export type ChartRange = keyof typeof CHART_RANGES;

/**
 * The x window (seconds) that shows `spanSec` of time ending at the newest bar (which opens at
 * `lastSec`), with a little room on the right for the forming candle: at most two bars and never
 * more than a tenth of the span. A span shorter than four bars shows four bars, so a short range on
 * a long timeframe still shows candles rather than an empty stretch of future.
 */
export function viewWindow(lastSec: number, tfSec: number, spanSec: number): { min: number; max: number } {
  const width = Math.max(spanSec, 4 * tfSec);
  const max = lastSec + tfSec + Math.min(2 * tfSec, width * 0.1);
  return { min: max - width, max };
}

export function isChartTimeframe(tf: string | null | undefined): tf is ChartTimeframe {
  return tf !== null && tf !== undefined && Object.hasOwn(CHART_TIMEFRAMES, tf);
}

export function isChartRange(r: string | null | undefined): r is ChartRange {
  return r !== null && r !== undefined && Object.hasOwn(CHART_RANGES, r);
}

/** A candle as a bar (floats for drawing only). */
export function toBar(c: CandleLike): Bar {
  return {
    t: Math.floor(c.openTime / 1000),
    o: Number(c.open),
    h: Number(c.high),
    l: Number(c.low),
    c: Number(c.close),
    v: Number(c.volume),
  };
}

/** The most flat bars a live update adds between the last bar and a new one. */
const MAX_FILL = 5000;

/**
 * Merges `incoming` into sorted `bars` (by t); a bar in `incoming` replaces one with the same t.
 * With `stepSec` (the timeframe), a live bar that opens later than the next bucket gets flat bars
 * at the last close for the buckets between, as the REST candles give them for buckets without
 * trades: the chart shows the same thing live and after a reload.
 */
export function mergeBars(bars: Bar[], incoming: Bar[], stepSec?: number): Bar[] {
  if (incoming.length === 0) return bars;
  // Fast path for the live case: one update to the last bar or a new last bar.
  if (incoming.length === 1 && bars.length > 0) {
    const bar = incoming[0], last = bars[bars.length - 1];
    if (bar.t === last.t) return [...bars.slice(0, -1), bar];
    if (bar.t > last.t) {
      const flat: Bar[] = [];
      if (stepSec && stepSec > 0) {
        const from = Math.max(last.t + stepSec, bar.t - MAX_FILL * stepSec);
        for (let t = from; t < bar.t; t += stepSec) {
          flat.push({ t, o: last.c, h: last.c, l: last.c, c: last.c, v: 0 });
        }
      }
      return [...bars, ...flat, bar];
    }
  }
  const byTime = new Map<number, Bar>();
  for (const b of bars) byTime.set(b.t, b);
  for (const b of incoming) byTime.set(b.t, b);
  return [...byTime.values()].sort((a, b) => a.t - b.t);
}

/** uPlot's data layout: [x, open, high, low, close, volume]. */
export function toColumns(bars: Bar[]): [number[], number[], number[], number[], number[], number[]] {
  const cols: [number[], number[], number[], number[], number[], number[]] = [[], [], [], [], [], []];
  for (const b of bars) {
    cols[0].push(b.t);
    cols[1].push(b.o);
    cols[2].push(b.h);
    cols[3].push(b.l);
    cols[4].push(b.c);
    cols[5].push(b.v);
  }
  return cols;
}

/** Closing prices of a series, for sparklines. */
export function closes(candles: CandleLike[]): number[] {
  return candles.map((c) => Number(c.close));
}

/** SVG polyline points for a sparkline of `values` in a w×h box. */
export function sparklinePoints(values: number[], w: number, h: number): string {
  if (values.length < 2) return "";
  const min = Math.min(...values), max = Math.max(...values);
  const span = max - min || 1;
  const step = w / (values.length - 1);
  return values.map((v, i) => `${(i * step).toFixed(1)},${(h - 1 - ((v - min) / span) * (h - 2)).toFixed(1)}`)
    .join(" ");
}

/**
 * The time axis' labels in 24-hour time with MM-DD dates, as the rest of the site writes times
 * (uPlot's default is 12-hour). Intraday rows never add the year: the first label of the axis counts
 * as a year's rollover, and a full date there is wider than the room at the left edge. Rows: smallest tick step in seconds, label, then the label added
 * when the year, month, day, hour, minute or second rolls over; the last column: append.
 */
export const TIME_AXIS_STAMPS: (string | number | null)[][] = [
  [365 * 86400, "{YYYY}", null, null, null, null, null, null, 1],
  [28 * 86400, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
  [86400, "{MM}-{DD}", "\n{YYYY}", null, null, null, null, null, 1],
  [3600, "{HH}:{mm}", "\n{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1],
  [60, "{HH}:{mm}", "\n{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1],
  [1, ":{ss}", "\n{MM}-{DD} {HH}:{mm}", null, "\n{MM}-{DD} {HH}:{mm}", null, "\n{HH}:{mm}", null, 1],
];
