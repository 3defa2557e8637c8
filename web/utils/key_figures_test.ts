import assert from "node:assert/strict";
import { histogramQuantile, keyFigures, type StatusPoll } from "./key_figures.ts";

const METRICS = `# TYPE kalency_http_request_duration_seconds histogram
kalency_http_request_duration_seconds_bucket{method="POST",route="/v1/orders",status="201",le="0.01"} 50
kalency_http_request_duration_seconds_bucket{method="POST",route="/v1/orders",status="201",le="0.1"} 90
kalency_http_request_duration_seconds_bucket{method="POST",route="/v1/orders",status="201",le="+Inf"} 100
kalency_http_request_duration_seconds_bucket{method="POST",route="/v1/orders",status="400",le="0.01"} 0
kalency_http_request_duration_seconds_bucket{method="POST",route="/v1/orders",status="400",le="0.1"} 0
kalency_http_request_duration_seconds_bucket{method="POST",route="/v1/orders",status="400",le="+Inf"} 0
kalency_http_request_duration_seconds_bucket{method="GET",route="/v1/markets",status="200",le="0.01"} 1000
`;

Deno.test("histogramQuantile() interpolates inside the bucket holding the rank, over matching series", () => {
  const series = ['method="POST"', 'route="/v1/orders"'];
  assert.equal(histogramQuantile(METRICS, "kalency_http_request_duration_seconds", series, 0.5), 0.01);
  assert.ok(
    Math.abs(histogramQuantile(METRICS, "kalency_http_request_duration_seconds", series, 0.7)! - 0.055) <
      1e-9,
  );
  assert.equal(
    histogramQuantile(METRICS, "kalency_http_request_duration_seconds", series, 0.99),
    0.1,
    "+Inf: last bound",
  );
  assert.equal(
    histogramQuantile(METRICS, "kalency_http_request_duration_seconds", ['route="/nope"'], 0.5),
    undefined,
  );
});

Deno.test("keyFigures() turns two status polls into rates and finds the largest lag", () => {
  const poll = (at: number, orders: number, executions: number, lag: number): StatusPoll => ({
    at,
    commandsBehind: 3,
    streams: [
      { stream: "orders", length: 10, entriesAdded: orders, groups: [] },
      {
        stream: "executions",
        length: 10,
        entriesAdded: executions,
        groups: [{ name: "ledger-writer", lag, pending: 0 }, {
          name: "candle-aggregator",
          lag: 1,
          pending: 0,
        }],
      },
    ],
  });
  const first = keyFigures(undefined, poll(1000, 100, 40, 0), METRICS);
  assert.equal(first.commandsPerSec, undefined, "no rate from one poll");
  const k = keyFigures(poll(1000, 100, 40, 0), poll(3000, 700, 240, 7), METRICS);
  assert.equal(k.commandsPerSec, 300);
  assert.equal(k.tradesPerSec, 100);
  assert.deepEqual(k.maxLag, { group: "ledger-writer", stream: "executions", lag: 7 });
  assert.equal(k.commandsBehind, 3);
  assert.equal(k.orderP50, 0.01);
});
