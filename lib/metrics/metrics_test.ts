import assert from "node:assert/strict";
import { Registry } from "./mod.ts";

Deno.test("Registry renders counters, gauges and histograms in Prometheus text format", () => {
  const r = new Registry("k_");
  const c = r.counter("orders_total", "Orders");
  c.inc({ type: "place" });
  c.inc({ type: "place" }, 2);
  r.gauge("lag", "Lag", (g) => g.set(7, { group: "ledger" }));
  const h = r.histogram("latency_seconds", "Latency", [0.01, 0.1]);
  h.observe(0.005);
  h.observe(0.05);
  h.observe(1);
  const text = r.render();
  assert.match(text, /# TYPE k_orders_total counter\nk_orders_total\{type="place"\} 3/);
  assert.match(text, /k_lag\{group="ledger"\} 7/);
  assert.match(text, /k_latency_seconds_bucket\{le="0.01"\} 1/);
  assert.match(text, /k_latency_seconds_bucket\{le="0.1"\} 2/);
  assert.match(text, /k_latency_seconds_bucket\{le="\+Inf"\} 3/);
  assert.match(text, /k_latency_seconds_count 3/);
});

Deno.test("label values are escaped", () => {
  const r = new Registry("k_");
  r.counter("x", "X").inc({ path: 'a"b\\c' });
  assert.match(r.render(), /k_x\{path="a\\"b\\\\c"\} 1/);
});

Deno.test("the same metric name registered twice is one metric", () => {
  const r = new Registry("k_");
  r.counter("x", "X").inc();
  r.counter("x", "X").inc();
  assert.match(r.render(), /k_x 2/);
});

Deno.test("a frozen labels object counts in the same series as equal labels; a mutated one moves on", () => {
  const r = new Registry("k_");
  const c = r.counter("x", "X");
  const frozen = Object.freeze({ route: "/v1/orders", status: 201 });
  c.inc(frozen);
  c.inc(frozen);
  c.inc({ status: 201, route: "/v1/orders" });
  const plain = { route: "/v1/orders", status: 201 };
  c.inc(plain);
  plain.status = 400;
  c.inc(plain);
  assert.equal(c.get(frozen), 4);
  assert.match(
    r.render(),
    /k_x\{route="\/v1\/orders",status="201"\} 4\nk_x\{route="\/v1\/orders",status="400"\} 1/,
  );
});
