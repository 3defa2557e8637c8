/**
 * The key figures of the admin page (the same ones the Grafana dashboard shows): orders and trades
 * per second, order latency percentiles, and the largest consumer lag. Rates come from two polls of
 * the gateway's admin status (`messagesAdded` per stream); latencies from the gateway's histograms.
 * @module
 */

export interface StreamStatus {
  stream: string;
  length: number;
  entriesAdded?: number;
  /** Messages ever added (differs from entriesAdded for streams whose entries pack a batch). */
  messagesAdded?: number;
  groups: { name: string; lag: number; pending: number }[];
}

export interface StatusPoll {
  /** Milliseconds when the poll was answered. */
  at: number;
  streams: StreamStatus[];
  commandsBehind: number;
}

export interface KeyFigures {
  /** Commands per second entering the engine (orders, cancels, account commands), all senders. */
  commandsPerSec?: number;
  tradesPerSec?: number;
  /** Seconds from the gateway receiving POST /v1/orders to answering it. */
  orderP50?: number;
  orderP99?: number;
  maxLag: { group: string; stream: string; lag: number } | undefined;
  commandsBehind: number;
}

function rate(prev: StatusPoll | undefined, cur: StatusPoll, stream: string): number | undefined {
  if (!prev || cur.at <= prev.at) return undefined;
  const added = (s: StreamStatus | undefined) => s?.messagesAdded ?? s?.entriesAdded;
  const a = added(prev.streams.find((s) => s.stream === stream));
  const b = added(cur.streams.find((s) => s.stream === stream));
  if (a === undefined || b === undefined || b < a) return undefined;
  return (b - a) / ((cur.at - prev.at) / 1000);
}

/**
 * Estimates a quantile from a Prometheus histogram in exposition text, over the series whose labels
 * contain every `match` string (their buckets are added up), as Prometheus' histogram_quantile does:
 * linear interpolation inside the bucket holding the rank.
 */
export function histogramQuantile(
  text: string,
  name: string,
  match: string[],
  q: number,
): number | undefined {
  const buckets = new Map<number, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const close = line.lastIndexOf("}");
    const labels = line.slice(name.length + 8, close);
    if (!match.every((m) => labels.includes(m))) continue;
    const le = /le="([^"]+)"/.exec(labels)?.[1];
    if (le === undefined) continue;
    const bound = le === "+Inf" ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(line.slice(close + 1).trim()));
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket === 0 ? bound : lowerBound + (bound - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/** Computes the key figures from the last two status polls and the current metrics text. */
export function keyFigures(prev: StatusPoll | undefined, cur: StatusPoll, metricsText: string): KeyFigures {
  let maxLag: KeyFigures["maxLag"];
  for (const s of cur.streams) {
    for (const g of s.groups) {
      if (!maxLag || g.lag > maxLag.lag) maxLag = { group: g.name, stream: s.stream, lag: g.lag };
    }
  }
  const orderSeries = ['method="POST"', 'route="/v1/orders"'];
  return {
    commandsPerSec: rate(prev, cur, "orders"),
    tradesPerSec: rate(prev, cur, "executions"),
    orderP50: histogramQuantile(metricsText, "kalency_http_request_duration_seconds", orderSeries, 0.5),
    orderP99: histogramQuantile(metricsText, "kalency_http_request_duration_seconds", orderSeries, 0.99),
    maxLag,
    commandsBehind: cur.commandsBehind,
  };
}
