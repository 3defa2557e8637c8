/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format (version 0.0.4) at `/metrics`.
 * @module
 */

type Labels = Record<string, string | number>;

/** Series keys of frozen label objects: a hot path passes the same frozen object again and again. */
const frozenKeys = new WeakMap<Labels, string>();

function labelKey(labels: Labels | undefined): string {
  if (!labels) return "";
  // a frozen object cannot change, so its key can be kept
  if (!Object.isFrozen(labels)) return seriesKey(labels);
  let key = frozenKeys.get(labels);
  if (key === undefined) frozenKeys.set(labels, key = seriesKey(labels));
  return key;
}

function seriesKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) =>
    `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  )
    .join(",");
}

function fmt(name: string, key: string, value: number, extra = ""): string {
  const inner = [key, extra].filter(Boolean).join(",");
  return `${name}${inner ? `{${inner}}` : ""} ${
    Number.isFinite(value) ? value : value > 0 ? "+Inf" : "-Inf"
  }`;
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.#values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.#values) lines.push(fmt(this.name, k, v));
    return lines.join("\n");
  }
}

export class Gauge implements Metric {
  #values = new Map<string, number>();
  #collect?: () => void;
  constructor(readonly name: string, readonly help: string, collect?: (g: Gauge) => void) {
    if (collect) this.#collect = () => collect(this);
  }
  set(value: number, labels?: Labels): void {
    this.#values.set(labelKey(labels), value);
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  dec(labels?: Labels, by = 1): void {
    this.inc(labels, -by);
  }
  get(labels?: Labels): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    this.#collect?.();
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    if (this.#values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.#values) lines.push(fmt(this.name, k, v));
    return lines.join("\n");
  }
}

/** Default buckets in seconds: 100 µs .. 10 s. */
export const LATENCY_BUCKETS = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  10,
];

/** Default buckets for "entries per batch" histograms. */
export const BATCH_SIZE_BUCKETS = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000];

export class Histogram implements Metric {
  #series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: number[] = LATENCY_BUCKETS) {}
  observe(value: number, labels?: Labels): void {
    const k = labelKey(labels);
    let s = this.#series.get(k);
    if (!s) this.#series.set(k, s = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 });
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  /** Starts a timer; calling the result observes the elapsed seconds. */
  startTimer(labels?: Labels): (more?: Labels) => number {
    const t0 = performance.now();
    return (more) => {
      const secs = (performance.now() - t0) / 1000;
      this.observe(secs, { ...labels, ...more });
      return secs;
    };
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.#series) {
      this.buckets.forEach((b, i) => lines.push(fmt(`${this.name}_bucket`, k, s.counts[i], `le="${b}"`)));
      lines.push(fmt(`${this.name}_bucket`, k, s.count, `le="+Inf"`));
      lines.push(fmt(`${this.name}_sum`, k, s.sum));
      lines.push(fmt(`${this.name}_count`, k, s.count));
    }
    return lines.join("\n");
  }
}

/** A set of metrics rendered together. Each process has one. */
export class Registry {
  #metrics = new Map<string, Metric>();
  constructor(readonly prefix = "kalency_") {}
  counter(name: string, help: string): Counter {
    return this.#add(new Counter(this.prefix + name, help));
  }
  gauge(name: string, help: string, collect?: (g: Gauge) => void): Gauge {
    return this.#add(new Gauge(this.prefix + name, help, collect));
  }
  histogram(name: string, help: string, buckets?: number[]): Histogram {
    return this.#add(new Histogram(this.prefix + name, help, buckets));
  }
  #add<M extends Metric & { name: string }>(m: M): M {
    const existing = this.#metrics.get(m.name);
    if (existing) return existing as M;
    this.#metrics.set(m.name, m);
    return m;
  }
  render(): string {
    return [...this.#metrics.values()].map((m) => m.render()).join("\n") + "\n";
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Adds process-level gauges every service exposes. */
export function addProcessMetrics(registry: Registry, service: string): void {
  const started = Date.now();
  registry.gauge(
    "process_uptime_seconds",
    "Seconds since the process started",
    (g) => g.set((Date.now() - started) / 1000, { service }),
  );
  registry.gauge(
    "process_resident_memory_bytes",
    "Resident set size",
    (g) => g.set(Deno.memoryUsage().rss, { service }),
  );
  registry.gauge(
    "process_heap_used_bytes",
    "V8 heap used",
    (g) => g.set(Deno.memoryUsage().heapUsed, { service }),
  );
}
