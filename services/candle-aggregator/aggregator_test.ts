import assert from "node:assert/strict";
import fc from "fast-check";
import { aggregateCandles, fillGaps, fromScaled } from "@lib/candles";
import type { Candle, Timeframe } from "@lib/contracts";
import { aggregateTrades, CandleAggregator, tradeEpoch, type TradeInput } from "./aggregator.ts";

const T0 = Date.UTC(2026, 0, 1);

function trade(seq: number, dt: number, price: string, qty: string, quoteQty: string): TradeInput {
  return { symbol: "BTC-USD", seq, price, qty, quoteQty, ts: T0 + dt };
}

/** [openTime - T0, open, high, low, close, volume, quoteVolume, trades, closed] */
function rows(candles: Candle[], tf: Timeframe) {
  return candles.filter((c) => c.timeframe === tf).map((
    c,
  ) => [c.openTime - T0, c.open, c.high, c.low, c.close, c.volume, c.quoteVolume, c.trades, c.closed]);
}

const KNOWN: TradeInput[] = [
  trade(1, 100, "100.5", "1", "100.5"),
  trade(2, 900, "101", "0.5", "50.5"),
  trade(3, 1000, "99.25", "2", "198.5"), // exactly on the 1s boundary: opens [1000, 2000)
  trade(4, 3500, "100", "0.25", "25"), // [2000, 3000) has no trade
  trade(5, 60_000, "102", "1", "102"), // exactly on the 5s and 1m boundaries
];

Deno.test("CandleAggregator builds hand-computed candles, a boundary trade opening the next bucket", () => {
  const all = aggregateTrades(KNOWN);
  assert.deepEqual(rows(all, "1s"), [
    [0, "100.5", "101", "100.5", "101", "1.5", "151", 2, true],
    [1000, "99.25", "99.25", "99.25", "99.25", "2", "198.5", 1, true],
    [3000, "100", "100", "100", "100", "0.25", "25", 1, true],
    [60_000, "102", "102", "102", "102", "1", "102", 1, false],
  ]);
  for (const tf of ["5s", "1m"] as const) {
    assert.deepEqual(rows(all, tf), [
      [0, "100.5", "101", "99.25", "100", "3.75", "374.5", 4, true],
      [60_000, "102", "102", "102", "102", "1", "102", 1, false],
    ], tf);
  }
  for (const tf of ["5m", "1h", "1d"] as const) {
    assert.deepEqual(rows(all, tf), [[0, "100.5", "102", "99.25", "102", "4.75", "476.5", 5, false]], tf);
  }
  // the empty 1s bucket is served as a flat candle at the previous close
  const filled = fillGaps(all.filter((c) => c.timeframe === "1s" && c.openTime <= T0 + 3000), {
    symbol: "BTC-USD",
    timeframe: "1s",
    source: "trade",
    start: T0,
    end: T0 + 3000,
    now: T0 + 60_000,
  });
  assert.deepEqual(filled.map((c) => [c.openTime - T0, c.open, c.close, c.volume, c.trades]), [
    [0, "100.5", "101", "1.5", 2],
    [1000, "99.25", "99.25", "2", 1],
    [2000, "99.25", "99.25", "0", 0],
    [3000, "100", "100", "0.25", 1],
  ]);
});

Deno.test("CandleAggregator ignores a redelivered trade and reports what changed per batch", () => {
  const agg = new CandleAggregator("trade", ["1s", "1m"]);
  assert.equal(agg.apply(KNOWN[0]), true);
  assert.equal(agg.apply(KNOWN[1]), true);
  const first = agg.takeChanges();
  assert.deepEqual(first.seqs, { "BTC-USD": 2 });
  assert.deepEqual(first.closed, []);
  assert.equal(first.forming.length, 2);
  assert.equal(agg.apply(KNOWN[1]), false);
  assert.equal(agg.apply(KNOWN[0]), false);
  assert.equal(agg.duplicates, 2);
  assert.equal(agg.apply(KNOWN[2]), true);
  const second = agg.takeChanges();
  assert.deepEqual(second.closed.map((c) => [c.timeframe, c.openTime - T0, c.volume]), [["1s", 0, "1.5"]]);
  assert.deepEqual(second.forming.map((c) => [c.timeframe, c.volume]), [["1s", "2"], ["1m", "3.5"]]);
});

Deno.test("CandleAggregator counts an engine that started over (a later epoch) from its first trade", () => {
  const agg = new CandleAggregator("trade", ["1m"]);
  const life1 = "mifab4hs", life2 = "mifb00aa";
  for (let i = 1; i <= 5; i++) {
    assert.equal(agg.apply({ ...trade(i, i * 100, "100", "1", "100"), epoch: life1 }), true);
  }
  // the engine lost its state: its trades number from 1 again, under a later epoch
  for (let i = 1; i <= 3; i++) {
    assert.equal(
      agg.apply({ ...trade(i, 1000 + i * 100, "101", "2", "202"), epoch: life2 }),
      true,
      `trade ${i}`,
    );
  }
  assert.equal(agg.engineRestarts, 1);
  assert.equal(agg.duplicates, 0);
  // a redelivery in the new life, and a late trade of the old one, are not counted twice
  assert.equal(agg.apply({ ...trade(3, 1300, "101", "2", "202"), epoch: life2 }), false);
  assert.equal(agg.apply({ ...trade(6, 1400, "100", "1", "100"), epoch: life1 }), false);
  const [candle] = agg.takeChanges().forming;
  assert.equal(candle.trades, 8);
  assert.equal(candle.volume, "11");
  assert.equal(tradeEpoch("trd-mifb00aa-42"), life2);
  assert.equal(tradeEpoch("BTC-USD-42"), undefined);
});

Deno.test("CandleAggregator.restore() continues exactly where the saved state left off", () => {
  const whole = aggregateTrades(KNOWN);
  const a = new CandleAggregator();
  for (const t of KNOWN.slice(0, 3)) a.apply(t);
  const saved = a.takeChanges();
  const b = new CandleAggregator();
  b.restore(saved.forming, saved.seqs);
  for (const t of KNOWN) b.apply(t); // the first three are redeliveries
  const rest = b.takeChanges();
  const candles = [...saved.closed, ...rest.closed, ...b.formingCandles()];
  assert.equal(b.duplicates, 3);
  for (const tf of ["1s", "5s", "1m", "5m", "1h", "1d"] as const) {
    assert.deepEqual(
      rows(candles, tf).sort((x, y) => (x[0] as number) - (y[0] as number)),
      rows(whole, tf),
      tf,
    );
  }
});

Deno.test("CandleAggregator buckets a trade stamped before its predecessor with the predecessor", () => {
  const agg = new CandleAggregator("trade", ["1s"]);
  agg.apply(trade(1, 1500, "10", "1", "10"));
  agg.apply(trade(2, 900, "11", "1", "11"));
  const { forming } = agg.takeChanges();
  assert.equal(agg.late, 1);
  assert.deepEqual(forming.map((c) => [c.openTime - T0, c.volume]), [[1000, "2"]]);
});

Deno.test("CandleAggregator leaves its state untouched when an amount is unreadable", () => {
  const agg = new CandleAggregator("trade", ["1s"]);
  agg.apply(trade(1, 100, "10", "1", "10"));
  assert.throws(() => agg.apply(trade(2, 200, "10", "0.0000000000000000001", "1")));
  // 20 integer digits do not fit the candle table's numeric(38,18); 99999999999999999999.5 does
  assert.throws(() => agg.apply(trade(2, 200, "1" + "0".repeat(20), "1", "1")), /price .*numeric\(38,18\)/);
  assert.throws(() => agg.apply(trade(2, 200, "10", "1", "1" + "0".repeat(20))), /quoteQty/);
  assert.throws(
    () => agg.apply({ symbol: "X-Y", price: "1" + "0".repeat(19), qty: "10", ts: T0 }),
    /price x qty/,
  );
  assert.equal(agg.apply(trade(2, 200, "99999999999999999999.5", "1", "1")), true);
  assert.equal(agg.lastSeq("BTC-USD"), 2);
  assert.deepEqual(agg.takeChanges().forming.map((c) => c.volume), ["2"]);
});

Deno.test("CandleAggregator builds index candles from ticks: quote volume is price x volume", () => {
  const all = aggregateTrades(
    [
      { symbol: "ETH-USD", price: "3200.5", qty: "2", ts: T0 },
      { symbol: "ETH-USD", price: "3201", qty: "0.5", ts: T0 + 200 },
    ],
    "index",
    ["1s"],
  );
  assert.deepEqual(all.map((c) => [c.source, c.open, c.close, c.volume, c.quoteVolume, c.trades]), [
    ["index", "3200.5", "3201", "2.5", "8001.5", 2],
  ]);
});

// Trades as generated integers so the reference sums are plain bigint arithmetic.
const tradesArb = fc.array(
  fc.record({
    gapMs: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 400_000 })),
    priceTicks: fc.integer({ min: 1, max: 10_000_000 }),
    qtyLots: fc.integer({ min: 1, max: 100_000 }),
    symbol: fc.constantFrom("BTC-USD", "ETH-USD"),
  }),
  { minLength: 1, maxLength: 300 },
).map((items) => {
  let ts = T0 + 17;
  const seq: Record<string, number> = {};
  return items.map((it): TradeInput => {
    ts += it.gapMs;
    seq[it.symbol] = (seq[it.symbol] ?? 0) + 1;
    const price = BigInt(it.priceTicks) * 10n ** 16n; // two decimals at scale 18
    const qty = BigInt(it.qtyLots) * 10n ** 14n; // four decimals
    return {
      symbol: it.symbol,
      seq: seq[it.symbol],
      price: fromScaled(price),
      qty: fromScaled(qty),
      quoteQty: fromScaled((price * qty) / 10n ** 18n),
      ts,
    };
  });
});

function strip(c: Candle) {
  const { closed: _closed, ...rest } = c;
  return rest;
}

Deno.test("property: 5s, 1m, 5m and 1h candles equal the aggregation of the 1s candles", () => {
  fc.assert(
    fc.property(tradesArb, (trades) => {
      const all = aggregateTrades(trades);
      for (const symbol of ["BTC-USD", "ETH-USD"]) {
        const ones = all.filter((c) => c.symbol === symbol && c.timeframe === "1s");
        for (const tf of ["5s", "1m", "5m", "1h"] as const) {
          const direct = all.filter((c) => c.symbol === symbol && c.timeframe === tf).map(strip);
          assert.deepEqual(aggregateCandles(ones, tf).map(strip), direct);
        }
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("property: volumes and trade counts are conserved across every timeframe", () => {
  fc.assert(
    fc.property(tradesArb, (trades) => {
      const all = aggregateTrades(trades);
      for (const tf of ["1s", "5s", "1m", "5m", "1h", "1d"] as const) {
        const n = all.filter((c) => c.timeframe === tf).reduce((s, c) => s + c.trades, 0);
        assert.equal(n, trades.length);
      }
    }),
    { numRuns: 100 },
  );
});
