import assert from "node:assert/strict";
import { sampleExecutions } from "@lib/ledger";
import { sampleCandle } from "@lib/testing";
import { candleDifferences, expectedMinuteCandles } from "./check.ts";

const T0 = Date.UTC(2026, 0, 1);

function trade(symbol: string, ts: number, price: string, qty: string) {
  return { ...sampleExecutions({ count: 1, symbols: [symbol] })[0], ts, price, qty, quoteQty: "1" };
}

Deno.test("expectedMinuteCandles(): OHLC, volume and trades of each symbol's 1m buckets", () => {
  const buckets = expectedMinuteCandles([
    trade("BTC-USD", T0 + 1_000, "10", "1"),
    trade("BTC-USD", T0 + 2_000, "12", "0.5"),
    trade("ETH-USD", T0 + 3_000, "5", "2"),
    trade("BTC-USD", T0 + 30_000, "9", "0.25"),
    trade("BTC-USD", T0 + 60_000, "11", "1"),
  ]);
  assert.equal(buckets.size, 3);
  const first = [...buckets.values()][0];
  assert.equal(first.openTime, T0);
  assert.deepEqual(
    [first.open, first.high, first.low, first.close, first.trades],
    [10n * 10n ** 18n, 12n * 10n ** 18n, 9n * 10n ** 18n, 9n * 10n ** 18n, 3],
  );
  assert.equal(first.volume, 175n * 10n ** 16n);
});

Deno.test("candleDifferences(): none when the candles match; each kind of error is named", () => {
  const fed = [trade("BTC-USD", T0 + 1_000, "10", "1"), trade("BTC-USD", T0 + 2_000, "12", "0.5")];
  const expected = expectedMinuteCandles(fed);
  const right = sampleCandle({
    openTime: T0,
    open: "10",
    high: "12",
    low: "10",
    close: "12",
    volume: "1.5",
    quoteVolume: "2",
    trades: 2,
  });
  assert.deepEqual(candleDifferences(expected, [right]), []);
  // other timeframes and index candles are not compared
  assert.deepEqual(candleDifferences(expected, [right, { ...right, timeframe: "5m" }]), []);

  const wrongClose = candleDifferences(expected, [{ ...right, close: "10" }]);
  assert.equal(wrongClose.length, 1);
  assert.match(wrongClose[0], /BTC-USD .*: close differ/);

  const lostTrade = candleDifferences(expected, [{ ...right, trades: 1, volume: "1" }]);
  assert.match(lostTrade.join("\n"), /trades: 1 in the candles, 2 fed/);
  assert.match(lostTrade.join("\n"), /volume: .* in the candles/);

  assert.match(candleDifferences(expected, []).join("\n"), /missing/);
  const extra = candleDifferences(expected, [right, { ...right, openTime: T0 + 60_000, trades: 0 }]);
  assert.match(extra.join("\n"), /a candle without trades fed/);
});
