/**
 * Builds the Grafana dashboard of the monitoring profile (ops/grafana/dashboards/kalency.json) from a
 * short list of panels, so the JSON stays consistent (ids, grid positions, datasource) when a panel
 * changes. Regenerate with:
 *
 *   deno run ops/grafana/dashboard.ts > ops/grafana/dashboards/kalency.json
 *
 * A test checks that the committed JSON is what this file builds.
 * @module
 */

/** The uid of the provisioned Prometheus datasource (ops/grafana/provisioning/datasources). */
export const DATASOURCE_UID = "kalency-prometheus";
const DATASOURCE = { type: "prometheus", uid: DATASOURCE_UID };

interface Query {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  kind: "timeseries" | "stat";
  unit: string;
  queries: Query[];
  /** Width in grid units (24 per row). */
  w: number;
  h?: number;
  /** Stat panels: thresholds (value -> colour) above the base green. */
  thresholds?: [number, string][];
}

type Section = { row: string; panels: PanelSpec[] };

const RATE = "$__rate_interval";

function quantiles(metric: string, selector: string, by = ""): Query[] {
  const group = by ? `le, ${by}` : "le";
  const suffix = by ? ` {{${by}}}` : "";
  return [0.5, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${group}) (rate(${metric}_bucket${selector}[${RATE}])))`,
    legend: `p${q * 100}${suffix}`,
  }));
}

/** The dashboard's sections and panels; every metric is one a Kalency process registers. */
export const SECTIONS: Section[] = [
  {
    row: "Key figures",
    panels: [
      {
        title: "Orders / s",
        description: "Place commands applied by the matching engine per second",
        kind: "stat",
        unit: "ops",
        w: 4,
        h: 4,
        queries: [{ expr: `sum(rate(kalency_engine_commands_total{type="place"}[1m]))`, legend: "orders/s" }],
      },
      {
        title: "Trades / s",
        description: "Executions produced by the matching engine per second",
        kind: "stat",
        unit: "ops",
        w: 4,
        h: 4,
        queries: [{ expr: `sum(rate(kalency_engine_executions_total[1m]))`, legend: "trades/s" }],
      },
      {
        title: "Order ack p99",
        description: "99th percentile of POST /v1/orders at the gateway over the last 5 minutes",
        kind: "stat",
        unit: "s",
        w: 4,
        h: 4,
        thresholds: [[0.05, "orange"], [0.25, "red"]],
        queries: [{
          expr:
            `histogram_quantile(0.99, sum by (le) (rate(kalency_http_request_duration_seconds_bucket{job="gateway",method="POST",route="/v1/orders"}[5m])))`,
          legend: "p99",
        }],
      },
      {
        title: "Engine lag",
        description: "Commands on stream:orders the engine has not applied yet",
        kind: "stat",
        unit: "short",
        w: 4,
        h: 4,
        thresholds: [[100, "orange"], [1000, "red"]],
        queries: [{ expr: `max(kalency_engine_command_lag_entries)`, legend: "entries" }],
      },
      {
        title: "Dead letters (1h)",
        description: "Entries sent to a dead-letter stream in the last hour, all processes",
        kind: "stat",
        unit: "short",
        w: 4,
        h: 4,
        thresholds: [[1, "red"]],
        queries: [{
          expr: `sum(increase({__name__=~"kalency_(engine_)?dead_letters_total"}[1h]))`,
          legend: "dead letters",
        }],
      },
      {
        title: "WebSocket clients",
        description: "Connected WebSocket clients over all gateway routes",
        kind: "stat",
        unit: "short",
        w: 4,
        h: 4,
        queries: [{ expr: `sum(kalency_gateway_ws_clients)`, legend: "clients" }],
      },
    ],
  },
  {
    row: "Flow",
    panels: [
      {
        title: "Engine commands / s by type",
        description: "Commands applied by the matching engine (place, cancel, deposit, ...)",
        kind: "timeseries",
        unit: "ops",
        w: 8,
        queries: [{
          expr: `sum by (type) (rate(kalency_engine_commands_total[${RATE}]))`,
          legend: "{{type}}",
        }],
      },
      {
        title: "Trades / s",
        description: "Executions per second",
        kind: "timeseries",
        unit: "ops",
        w: 8,
        queries: [{ expr: `sum(rate(kalency_engine_executions_total[${RATE}]))`, legend: "trades" }],
      },
      {
        title: "Rejections / s by reason",
        description: "Commands the engine answered with a rejection",
        kind: "timeseries",
        unit: "ops",
        w: 8,
        queries: [{
          expr: `sum by (reason) (rate(kalency_engine_rejections_total[${RATE}]))`,
          legend: "{{reason}}",
        }],
      },
      {
        title: "HTTP requests / s by status",
        description: "Gateway requests per second by status code",
        kind: "timeseries",
        unit: "reqps",
        w: 8,
        queries: [{
          expr: `sum by (status) (rate(kalency_http_requests_total{job="gateway"}[${RATE}]))`,
          legend: "{{status}}",
        }],
      },
      {
        title: "Simulator ticks and bot orders / s",
        description: "Ticks published and commands sent by bots, by bot kind",
        kind: "timeseries",
        unit: "ops",
        w: 8,
        queries: [
          { expr: `sum(rate(kalency_sim_ticks_total[${RATE}]))`, legend: "ticks" },
          { expr: `sum by (kind) (rate(kalency_sim_orders_total[${RATE}]))`, legend: "{{kind}}" },
        ],
      },
      {
        title: "Rate-limited requests / s",
        description: "Requests the gateway refused with 429",
        kind: "timeseries",
        unit: "reqps",
        w: 8,
        queries: [{ expr: `sum(rate(kalency_gateway_rate_limited_total[${RATE}]))`, legend: "429" }],
      },
    ],
  },
  {
    row: "Latency",
    panels: [
      {
        title: "POST /v1/orders latency",
        description: "Order placement at the gateway, from request to the engine's ack",
        kind: "timeseries",
        unit: "s",
        w: 8,
        queries: quantiles(
          "kalency_http_request_duration_seconds",
          `{job="gateway",method="POST",route="/v1/orders"}`,
        ),
      },
      {
        title: "Engine reply latency (gateway view)",
        description: "From a command queued at the gateway to the engine's reply, by command type",
        kind: "timeseries",
        unit: "s",
        w: 8,
        queries: quantiles("kalency_gateway_engine_reply_seconds", "", "type"),
      },
      {
        title: "Engine batch apply and commit",
        description: "Time to apply a batch in memory and to commit its outputs in one MULTI/EXEC",
        kind: "timeseries",
        unit: "s",
        w: 8,
        queries: [
          ...quantiles("kalency_engine_batch_apply_seconds", "").map((q) => ({
            ...q,
            legend: `apply ${q.legend}`,
          })),
          ...quantiles("kalency_engine_batch_commit_seconds", "").map((q) => ({
            ...q,
            legend: `commit ${q.legend}`,
          })),
        ],
      },
      {
        title: "HTTP p99 by route",
        description: "99th percentile latency of every gateway route",
        kind: "timeseries",
        unit: "s",
        w: 24,
        queries: [{
          expr:
            `histogram_quantile(0.99, sum by (le, route) (rate(kalency_http_request_duration_seconds_bucket{job="gateway"}[${RATE}])))`,
          legend: "{{route}}",
        }],
      },
      {
        title: "Ledger writes",
        description: "Ledger writer: one PostgreSQL transaction per batch (retries included), by stream",
        kind: "timeseries",
        unit: "s",
        w: 8,
        queries: quantiles("kalency_ledger_write_seconds", "", "stream"),
      },
      {
        title: "Candle writes",
        description: "Candle aggregator write latency by store (Redis MULTI, PostgreSQL outbox flush)",
        kind: "timeseries",
        unit: "s",
        w: 8,
        queries: quantiles("kalency_candles_write_seconds", "", "store"),
      },
      {
        title: "Ledger rows / s",
        description: "Rows the ledger writer inserts, by table",
        kind: "timeseries",
        unit: "ops",
        w: 8,
        queries: [{ expr: `sum by (table) (rate(kalency_ledger_rows_total[${RATE}]))`, legend: "{{table}}" }],
      },
    ],
  },
  {
    row: "Consumers and dead letters",
    panels: [
      {
        title: "Consumer lag",
        description: "Entries a consumer group has not read yet, and commands the engine has not applied",
        kind: "timeseries",
        unit: "short",
        w: 8,
        queries: [
          { expr: `max by (job, stream, group) (kalency_consumer_lag)`, legend: "{{job}} {{stream}}" },
          { expr: `max(kalency_engine_command_lag_entries)`, legend: "matching-engine orders" },
        ],
      },
      {
        title: "Consumer pending",
        description: "Entries delivered to a group but not acknowledged yet",
        kind: "timeseries",
        unit: "short",
        w: 8,
        queries: [{
          expr: `max by (job, stream, group) (kalency_consumer_pending)`,
          legend: "{{job}} {{stream}}",
        }],
      },
      {
        title: "Dead letters (5m)",
        description: "Entries sent to <stream>:dead in the last 5 minutes, by process and stream or source",
        kind: "timeseries",
        unit: "short",
        w: 8,
        queries: [
          {
            expr: `sum by (job, stream) (increase(kalency_dead_letters_total[5m]))`,
            legend: "{{job}} {{stream}}",
          },
          {
            expr: `sum by (source) (increase(kalency_engine_dead_letters_total[5m]))`,
            legend: "matching-engine {{source}}",
          },
        ],
      },
      {
        title: "Engine snapshot age",
        description: "Seconds since the matching engine last saved a snapshot",
        kind: "timeseries",
        unit: "s",
        w: 12,
        queries: [{ expr: `max(kalency_engine_snapshot_age_seconds)`, legend: "age" }],
      },
      {
        title: "Retried reads and writes / s",
        description: "Reads or writes that failed and were retried, by process",
        kind: "timeseries",
        unit: "ops",
        w: 12,
        queries: [{ expr: `sum by (job) (rate(kalency_retries_total[${RATE}]))`, legend: "{{job}}" }],
      },
    ],
  },
  {
    row: "Clients and processes",
    panels: [
      {
        title: "WebSocket clients by route",
        description: "Connected WebSocket clients",
        kind: "timeseries",
        unit: "short",
        w: 8,
        queries: [{ expr: `sum by (route) (kalency_gateway_ws_clients)`, legend: "{{route}}" }],
      },
      {
        title: "WebSocket messages / s",
        description: "Messages sent to WebSocket clients, by route",
        kind: "timeseries",
        unit: "ops",
        w: 8,
        queries: [{
          expr: `sum by (route) (rate(kalency_gateway_ws_messages_sent_total[${RATE}]))`,
          legend: "{{route}}",
        }],
      },
      {
        title: "WebSocket feed lag and fan-out",
        description:
          "Age of stream entries when the gateway dispatches them, and one fan-out tick to every client",
        kind: "timeseries",
        unit: "s",
        w: 8,
        queries: [
          ...quantiles("kalency_gateway_ws_stream_lag_seconds", "").map((q) => ({
            ...q,
            legend: `feed lag ${q.legend}`,
          })),
          ...quantiles("kalency_gateway_ws_fanout_batch_seconds", "").map((q) => ({
            ...q,
            legend: `fan-out ${q.legend}`,
          })),
        ],
      },
      {
        title: "Targets up",
        description: "1 when Prometheus could scrape the process",
        kind: "timeseries",
        unit: "short",
        w: 6,
        queries: [{ expr: `up`, legend: "{{job}}" }],
      },
      {
        title: "Resident memory",
        description: "Resident set size of each process",
        kind: "timeseries",
        unit: "bytes",
        w: 9,
        queries: [{
          expr: `max by (service) (kalency_process_resident_memory_bytes)`,
          legend: "{{service}}",
        }],
      },
      {
        title: "Heap used",
        description: "V8 heap in use in each process",
        kind: "timeseries",
        unit: "bytes",
        w: 9,
        queries: [{ expr: `max by (service) (kalency_process_heap_used_bytes)`, legend: "{{service}}" }],
      },
    ],
  },
];

function panelJson(p: PanelSpec, id: number, x: number, y: number): Record<string, unknown> {
  const h = p.h ?? 8;
  const targets = p.queries.map((q, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend,
    range: true,
  }));
  const steps = [
    { color: "green", value: null },
    ...(p.thresholds ?? []).map(([value, color]) => ({ color, value })),
  ];
  const base = {
    id,
    type: p.kind,
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    gridPos: { h, w: p.w, x, y },
    targets,
  };
  if (p.kind === "stat") {
    return {
      ...base,
      fieldConfig: {
        defaults: { unit: p.unit, decimals: p.unit === "s" ? 3 : 1, thresholds: { mode: "absolute", steps } },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
        colorMode: "value",
        graphMode: "area",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
      },
    };
  }
  return {
    ...base,
    fieldConfig: {
      defaults: {
        unit: p.unit,
        min: 0,
        custom: { drawStyle: "line", lineWidth: 1, fillOpacity: 10, showPoints: "never", spanNulls: true },
        thresholds: { mode: "absolute", steps },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: "list", placement: "bottom", showLegend: true },
      tooltip: { mode: "multi", sort: "desc" },
    },
  };
}

/** The dashboard JSON model. */
export function buildDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const section of SECTIONS) {
    panels.push({
      id: id++,
      type: "row",
      title: section.row,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of section.panels) {
      if (x + p.w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push(panelJson(p, id++, x, y));
      x += p.w;
      rowHeight = Math.max(rowHeight, p.h ?? 8);
    }
    y += rowHeight;
  }
  return {
    uid: "kalency-overview",
    title: "Kalency",
    description: "Orders, trades, latency, consumer lag, dead letters and clients of a running Kalency",
    tags: ["kalency"],
    timezone: "browser",
    editable: true,
    graphTooltip: 1,
    refresh: "5s",
    schemaVersion: 39,
    version: 1,
    time: { from: "now-15m", to: "now" },
    timepicker: {},
    templating: { list: [] },
    annotations: { list: [] },
    links: [],
    panels,
  };
}

if (import.meta.main) {
  console.log(JSON.stringify(buildDashboard(), null, 2));
}
