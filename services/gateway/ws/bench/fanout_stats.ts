/**
 * The fan-out benchmark's figures from its parts: trade latency over every client process's
 * samples, and what was offered over the same window the clients counted in.
 * @module
 */

/** Latency samples as whole milliseconds -> how many samples had that value. */
export type LatencyHistogram = Record<string, number>;

/** Adds samples (ms) to a histogram. */
export function addSamples(histogram: LatencyHistogram, samples: Iterable<number>): LatencyHistogram {
  for (const ms of samples) histogram[ms] = (histogram[ms] ?? 0) + 1;
  return histogram;
}

/**
 * p50 and p99 over all the histograms' samples together (the sample at index floor(p * n) in
 * ascending order); null when there is none.
 */
export function combinedLatency(histograms: LatencyHistogram[]): {
  p50: number | null;
  p99: number | null;
  samples: number;
} {
  const counts = new Map<number, number>();
  for (const h of histograms) {
    for (const [ms, n] of Object.entries(h)) counts.set(Number(ms), (counts.get(Number(ms)) ?? 0) + n);
  }
  const values = [...counts.keys()].sort((a, b) => a - b);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const pct = (p: number) => {
    if (total === 0) return null;
    const index = Math.min(total - 1, Math.floor(p * total));
    let seen = 0;
    for (const v of values) {
      seen += counts.get(v)!;
      if (seen > index) return v;
    }
    return null;
  };
  return { p50: pct(0.5), p99: pct(0.99), samples: total };
}

/** One publish: the entries' `ts` (Date.now() when published) and how many stream entries it wrote. */
export interface Published {
  ts: number;
  entries: number;
}

/** Stream entries published with a ts in [from, to) (epoch ms). */
export function publishedBetween(log: readonly Published[], from: number, to: number): number {
  let n = 0;
  for (const p of log) if (p.ts >= from && p.ts < to) n += p.entries;
  return n;
}
