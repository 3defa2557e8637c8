import assert from "node:assert/strict";
import {
  aggregateCandles,
  bucketStart,
  CandleMathError,
  fillGaps,
  fromScaled,
  normalizeDecimal,
  parseTimeframe,
  toScaled,
} from "./mod.ts";
import type { Candle } from "@lib/contracts";

const T0 = Date.UTC(2026, 0, 1);

Deno.test("toScaled() and fromScaled() round-trip exact decimals", async (t) => {
  const cases: [text: string, shortest: string][] = [
    ["0", "0"],
    ["65000.25", "65000.25"],
    ["65000.250000", "65000.25"],
    ["0.000000000000000001", "0.000000000000000001"],
    ["-1.5", "-1.5"],
    ["123456789012345678901.5", "123456789012345678901.5"],
    ["2.000000000000000000000", "2"],
  ];
  for (const [text, shortest] of cases) {
    await t.step(text, () => assert.equal(fromScaled(toScaled(text)), shortest));
  }
});

Deno.test("toScaled() refuses malformed text and precision it cannot hold", () => {
  assert.throws(() => toScaled("1e5"), CandleMathError);
  assert.throws(() => toScaled("abc"), CandleMathError);
  assert.throws(() => toScaled("0.0000000000000000001"), /more than 18 decimal places/);
  assert.equal(normalizeDecimal("3.10"), "3.1");
});

Deno.test("bucketStart() floors to UTC buckets, a boundary opening a new one", () => {
  assert.equal(bucketStart(T0 + 999, "1s"), T0);
  assert.equal(bucketStart(T0 + 1000, "1s"), T0 + 1000);
  assert.equal(bucketStart(T0 + 59_999, "1m"), T0);
  assert.equal(bucketStart(T0 + 60_000, "1m"), T0 + 60_000);
  assert.equal(bucketStart(T0 + 3_600_000 * 25 + 5, "1d"), T0 + 86_400_000);
  assert.equal(bucketStart(T0 + 7_000, "5s"), T0 + 5_000);
});

Deno.test("parseTimeframe() accepts the original's spellings and nothing else", () => {
  assert.equal(parseTimeframe(" 1H "), "1h");
  assert.equal(parseTimeframe("1d"), "1d");
  assert.equal(parseTimeframe("2m"), undefined);
});

function candle(
  openTime: number,
  o: string,
  h: string,
  l: string,
  c: string,
  v: string,
  tf: "1s" | "1m" = "1s",
): Candle {
  return {
    symbol: "BTC-USD",
    timeframe: tf,
    openTime,
    closeTime: openTime + (tf === "1s" ? 999 : 59_999),
    open: o,
    high: h,
    low: l,
    close: c,
    volume: v,
    quoteVolume: "0",
    trades: 1,
    closed: true,
    source: "trade",
  };
}

Deno.test("fillGaps() adds flat zero-volume candles at the previous close, never before the first", () => {
  const stored = [
    candle(T0 + 2000, "10", "12", "9", "11", "1"),
    candle(T0 + 5000, "11", "11", "8", "8", "2"),
  ];
  const out = fillGaps(stored, {
    symbol: "BTC-USD",
    timeframe: "1s",
    source: "trade",
    start: T0,
    end: T0 + 7000,
    now: T0 + 6500,
  });
  assert.deepEqual(out.map((c) => [c.openTime - T0, c.open, c.close, c.volume, c.trades, c.closed]), [
    [2000, "10", "11", "1", 1, true],
    [3000, "11", "11", "0", 0, true],
    [4000, "11", "11", "0", 0, true],
    [5000, "11", "8", "2", 1, true],
    [6000, "8", "8", "0", 0, false],
    [7000, "8", "8", "0", 0, false],
  ]);
  const withPrev = fillGaps([], {
    symbol: "BTC-USD",
    timeframe: "1s",
    source: "trade",
    start: T0,
    end: T0 + 1000,
    prevClose: "7",
    now: T0 + 10_000,
  });
  assert.deepEqual(withPrev.map((c) => [c.open, c.volume, c.closed]), [["7", "0", true], ["7", "0", true]]);
});

Deno.test("aggregateCandles() folds narrow candles: first open, max high, min low, last close, sums", () => {
  const out = aggregateCandles([
    candle(T0 + 1000, "10", "12", "9", "11", "1"),
    candle(T0 + 30_000, "11", "15", "10", "14", "2.5"),
    candle(T0 + 61_000, "14", "14", "13", "13", "1"),
  ], "1m");
  assert.deepEqual(out.map((c) => [c.openTime - T0, c.open, c.high, c.low, c.close, c.volume, c.trades]), [
    [0, "10", "15", "9", "14", "3.5", 2],
    [60_000, "14", "14", "13", "13", "1", 1],
  ]);
});
