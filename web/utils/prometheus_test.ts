import assert from "node:assert/strict";
import { parsePrometheus } from "./prometheus.ts";

const TEXT = `# HELP kalency_gateway_ws_stream_lag_seconds Lag
# TYPE kalency_gateway_ws_stream_lag_seconds histogram
kalency_gateway_ws_stream_lag_seconds_bucket{le="0.1"} 3
kalency_gateway_ws_stream_lag_seconds_bucket{le="+Inf"} 4
kalency_gateway_ws_stream_lag_seconds_sum 0.5
kalency_gateway_ws_stream_lag_seconds_count 4
# TYPE kalency_gateway_ws_stream_entries_total counter
kalency_gateway_ws_stream_entries_total{stream="book"} 12
kalency_gateway_ws_stream_entries_total{stream="wallet"} 7
# TYPE kalency_process_uptime_seconds gauge
kalency_process_uptime_seconds{service="gateway"} 42.5
`;

Deno.test("parsePrometheus() gives counters and gauges as values and histograms as count and mean", () => {
  const rows = parsePrometheus(TEXT, (n) => n.includes("_ws_"));
  assert.deepEqual(rows, [
    { name: "kalency_gateway_ws_stream_entries_total", labels: 'stream="book"', kind: "value", value: 12 },
    { name: "kalency_gateway_ws_stream_entries_total", labels: 'stream="wallet"', kind: "value", value: 7 },
    { name: "kalency_gateway_ws_stream_lag_seconds", labels: "", kind: "histogram", value: 0.125, count: 4 },
  ]);
  assert.equal(parsePrometheus(TEXT).length, 4);
});
