import assert from "node:assert/strict";
import {
  autocorrelation,
  bucketCloses,
  excessKurtosis,
  logReturns,
  quotedSpreadBps,
  returnFacts,
  rollSpread,
} from "./stylized_facts.ts";
import { createRng } from "./rng.ts";

Deno.test("excessKurtosis() is near 0 for normal draws and positive for heavy tails", () => {
  const rng = createRng("kurt", "t");
  const normal = Array.from({ length: 50_000 }, () => rng.normal());
  assert.ok(Math.abs(excessKurtosis(normal)) < 0.1);
  // a scale mixture of normals has fat tails
  const mixture = Array.from({ length: 50_000 }, () => rng.normal() * (rng.chance(0.1) ? 4 : 1));
  assert.ok(excessKurtosis(mixture) > 3);
  assert.ok(Number.isNaN(excessKurtosis([1, 2])));
});

Deno.test("autocorrelation() of an alternating series is -1 at lag 1 and +1 at lag 2", () => {
  const xs = Array.from({ length: 1000 }, (_, i) => (i % 2 ? 1 : -1));
  assert.ok(autocorrelation(xs, 1) < -0.99);
  assert.ok(autocorrelation(xs, 2) > 0.99);
  assert.ok(Number.isNaN(autocorrelation([1, 1, 1, 1], 1)));
});

Deno.test("bucketCloses() takes the last trade per bucket and fills gaps with the previous close", () => {
  const trades = [
    { ts: 60_500, price: 10 },
    { ts: 61_000, price: 11 },
    { ts: 185_000, price: 12 },
  ];
  // buckets [60s,120s) -> 11, [120s,180s) -> gap -> 11, [180s,240s) -> 12
  assert.deepEqual(bucketCloses(trades, 60_000, 60_000, 240_000), [11, 11, 12]);
  // buckets before the first trade are left out
  assert.deepEqual(bucketCloses(trades, 60_000, 0, 240_000), [11, 11, 12]);
});

Deno.test("logReturns() and returnFacts() agree", () => {
  const closes = [100, 101, 100, 102, 101];
  const r = logReturns(closes);
  assert.equal(r.length, 4);
  assert.ok(Math.abs(r[0] - Math.log(1.01)) < 1e-12);
  assert.equal(returnFacts(closes).returns, 4);
});

Deno.test("rollSpread() recovers the spread of a series bouncing between bid and ask", () => {
  const rng = createRng("roll", "t");
  const prices: number[] = [];
  let mid = 100;
  for (let i = 0; i < 20_000; i++) {
    mid += 0.001 * rng.normal();
    prices.push(mid + (rng.chance(0.5) ? 0.05 : -0.05)); // spread 0.10
  }
  const s = rollSpread(prices)!;
  assert.ok(Math.abs(s - 0.1) < 0.01, `roll spread ${s}`);
  assert.equal(rollSpread([1, 2, 3, 4, 5]), undefined);
});

Deno.test("quotedSpreadBps() weights the spread by how long it was quoted", () => {
  const changes = [
    { ts: 0, bids: [["99", "1"]] as [string, string][], asks: [["101", "1"]] as [string, string][] }, // 200 bps warm-up
    { ts: 1000, bids: [["99.5", "1"]] as [string, string][], asks: [["100.5", "1"]] as [string, string][] },
    { ts: 2000, bids: [["99.5", "0"]] as [string, string][], asks: [] },
  ];
  // [1000,2000): best 99.5/100.5 = 100 bps; [2000,3000): bid back to 99, ask 100.5 -> ~150.4 bps
  const avg = quotedSpreadBps(changes, 1000, 3000)!;
  assert.ok(Math.abs(avg - (100 + 150.375) / 2) < 0.5, `avg ${avg}`);
  assert.equal(quotedSpreadBps([], 0, 1000), undefined);
});
