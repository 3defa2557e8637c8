/**
 * Reads the Prometheus text format (what every Kalency process serves at /metrics) into rows the
 * admin page can show: counters and gauges as values, histograms as count and mean.
 * @module
 */

export interface MetricRow {
  name: string;
  labels: string;
  kind: "value" | "histogram";
  /** The value (counter/gauge) or the mean (histogram, in the metric's unit). */
  value: number;
  /** Observations (histograms only). */
  count?: number;
}

const LINE = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/;

/** Parses the exposition text; `keep` selects metric names. */
export function parsePrometheus(text: string, keep: (name: string) => boolean = () => true): MetricRow[] {
  const types = new Map<string, string>();
  const values = new Map<string, MetricRow>();
  const hist = new Map<string, { name: string; labels: string; sum: number; count: number }>();
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      types.set(name, type);
      continue;
    }
    if (!line || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const [, full, , labels = "", raw] = m;
    const value = Number(raw);
    const base = full.replace(/_(sum|count|bucket)$/, "");
    if (types.get(base) === "histogram" && base !== full) {
      if (full.endsWith("_bucket") || !keep(base)) continue;
      const key = `${base}{${labels}}`;
      const h = hist.get(key) ?? { name: base, labels, sum: 0, count: 0 };
      if (full.endsWith("_sum")) h.sum = value;
      else h.count = value;
      hist.set(key, h);
      continue;
    }
    if (!keep(full)) continue;
    values.set(`${full}{${labels}}`, { name: full, labels, kind: "value", value });
  }
  const rows = [...values.values()];
  for (const h of hist.values()) {
    rows.push({
      name: h.name,
      labels: h.labels,
      kind: "histogram",
      value: h.count ? h.sum / h.count : 0,
      count: h.count,
    });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name) || a.labels.localeCompare(b.labels));
}
