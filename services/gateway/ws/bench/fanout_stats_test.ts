import assert from "node:assert/strict";
import { addSamples, combinedLatency, publishedBetween } from "./fanout_stats.ts";

Deno.test("combinedLatency(): percentiles over every client process's samples together", () => {
  // one process sees only fast trades, the other only slow ones: each alone would mislead
  const fast = addSamples({}, Array.from({ length: 50 }, () => 2));
  const slow = addSamples({}, Array.from({ length: 50 }, (_, i) => 100 + i));
  assert.deepEqual(combinedLatency([fast]), { p50: 2, p99: 2, samples: 50 });
  const both = combinedLatency([fast, slow]);
  assert.equal(both.samples, 100);
  assert.equal(both.p50, 100); // index 50 of 100: the first slow sample
  assert.equal(both.p99, 149);
  assert.deepEqual(combinedLatency([]), { p50: null, p99: null, samples: 0 });
});

Deno.test("combinedLatency() agrees with sorting the samples", () => {
  const samples = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 257);
  const sorted = [...samples].sort((a, b) => a - b);
  const h1 = addSamples({}, samples.slice(0, 400));
  const h2 = addSamples({}, samples.slice(400));
  const r = combinedLatency([h1, h2]);
  assert.equal(r.p50, sorted[500]);
  assert.equal(r.p99, sorted[990]);
});

Deno.test("publishedBetween(): entries whose ts falls in the window", () => {
  const log = [{ ts: 100, entries: 4 }, { ts: 110, entries: 2 }, { ts: 120, entries: 6 }];
  assert.equal(publishedBetween(log, 100, 120), 6);
  assert.equal(publishedBetween(log, 101, 121), 8);
  assert.equal(publishedBetween(log, 0, 1), 0);
});
