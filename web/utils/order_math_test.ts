import assert from "node:assert/strict";
import { estimateMarket, feeFor, marketPriceView, notional, presetAmount } from "./order_math.ts";

const market = { stepSize: "0.0001", tickSize: "0.01", freeBase: "2", freeQuote: "100000" };

Deno.test("presetAmount() sells a share of the free base, on the step", () => {
  assert.deepEqual(presetAmount({ ...market, side: "SELL", type: "LIMIT", pct: 25, freeBase: "1.23457" }), {
    qty: "0.3086",
  });
});

Deno.test("presetAmount() buys what a share of the free quote pays at the limit price", () => {
  assert.deepEqual(presetAmount({ ...market, side: "BUY", type: "LIMIT", pct: 50, price: "65000" }), {
    qty: "0.7692",
  });
  assert.equal(presetAmount({ ...market, side: "BUY", type: "LIMIT", pct: 50 }), undefined);
});

Deno.test("presetAmount() keeps room for the fee and gives market buys a quote amount", () => {
  assert.deepEqual(presetAmount({ ...market, side: "BUY", type: "MARKET", pct: 100, feeBps: 10 }), {
    quoteQty: "99900.09",
  });
});

Deno.test("feeFor() is notional × bps / 10000, cut to the quote's places", () => {
  assert.equal(notional("65000.25", "0.5"), "32500.125");
  assert.equal(feeFor("32500.125", 10, 2), "32.5");
  assert.equal(feeFor("32500.125", 0, 2), "0");
});

Deno.test("estimateMarket() walks the levels as the engine fills, by quantity or by quote amount", () => {
  const asks = [
    { price: "100.00", qty: "1.0" },
    { price: "101.00", qty: "2.0" },
    { price: "105.00", qty: "1.0" },
  ];
  // 2 BTC: 1 at 100, 1 at 101
  assert.deepEqual(estimateMarket(asks, { qty: "2" }, "0.0001", "0.01"), {
    filled: "2",
    quote: "201",
    avgPrice: "100.5",
    worstPrice: "101.00",
    complete: true,
  });
  // 150 USD: 1 at 100 (100 USD), then 50 / 101 = 0.4950 (on the step) at 101
  const byQuote = estimateMarket(asks, { quoteQty: "150" }, "0.0001", "0.01");
  assert.equal(byQuote.filled, "1.495");
  assert.equal(byQuote.quote, "149.995");
  assert.equal(byQuote.worstPrice, "101.00");
  assert.equal(byQuote.complete, true);
  // more than the visible book holds
  const big = estimateMarket(asks, { qty: "10" }, "0.0001", "0.01");
  assert.deepEqual([big.filled, big.worstPrice, big.complete], ["4", "105.00", false]);
  // an empty side fills nothing
  assert.deepEqual(estimateMarket([], { qty: "1" }, "0.0001", "0.01"), {
    filled: "0",
    quote: "0",
    avgPrice: undefined,
    worstPrice: undefined,
    complete: false,
  });
});

Deno.test("presetAmount() trims the price and gives nothing for a price that is not a plain number", () => {
  assert.deepEqual(presetAmount({ ...market, side: "BUY", type: "LIMIT", pct: 50, price: " 65000 " }), {
    qty: "0.7692",
  });
  for (const price of ["abc", "64,000", "1e3", ".5", "65000.", "-65000", "0", "0.00", "", "   "]) {
    assert.equal(presetAmount({ ...market, side: "BUY", type: "LIMIT", pct: 25, price }), undefined, price);
  }
  // a sell and a market buy do not depend on the price
  assert.deepEqual(presetAmount({ ...market, side: "SELL", type: "LIMIT", pct: 50, price: "abc" }), {
    qty: "1",
  });
  assert.deepEqual(presetAmount({ ...market, side: "BUY", type: "MARKET", pct: 25, price: "64,000" }), {
    quoteQty: "25000",
  });
});

Deno.test("estimateMarket() finds a buy by a small amount complete when the book has the liquidity", () => {
  const asks = [{ price: "65000.00", qty: "1.5" }, { price: "65010.00", qty: "2" }];
  // 3 or 5 USD buy less than one step (0.0001 BTC = 6.50 USD): nothing fills, but not for want of asks
  for (const quoteQty of ["3", "5", "6.49"]) {
    const e = estimateMarket(asks, { quoteQty }, "0.0001", "0.01");
    assert.deepEqual([e.filled, e.avgPrice, e.complete], ["0", undefined, true], quoteQty);
  }
  assert.equal(estimateMarket(asks, { quoteQty: "6.5" }, "0.0001", "0.01").filled, "0.0001");
  // the rest of a larger amount that buys less than a step at the next level is done too
  const e = estimateMarket(asks, { quoteQty: "97520" }, "0.0001", "0.01");
  assert.deepEqual([e.filled, e.worstPrice, e.complete], ["1.5003", "65010.00", true]);
  // a book that really runs out warns, by amount or by quantity
  assert.equal(estimateMarket(asks, { quoteQty: "1000000" }, "0.0001", "0.01").complete, false);
  assert.equal(estimateMarket([], { quoteQty: "3" }, "0.0001", "0.01").complete, false);
  assert.equal(estimateMarket(asks, { qty: "4" }, "0.0001", "0.01").complete, false);
});

Deno.test("marketPriceView() claims no average or total beyond the visible book; a sell goes down to", () => {
  const bids = [{ price: "64852.80", qty: "0.0120" }, { price: "64791.85", qty: "0.0398" }];
  // 1.0077 BTC against 0.0518 BTC shown: nothing to extrapolate from
  const big = estimateMarket(bids, { qty: "1.0077" }, "0.0001", "0.01");
  assert.deepEqual(marketPriceView(big, "SELL"), { kind: "beyond" });
  const small = estimateMarket(bids, { qty: "0.02" }, "0.0001", "0.01");
  assert.deepEqual(marketPriceView(small, "SELL"), {
    kind: "estimate",
    avgPrice: "64828.42",
    worstPrice: "64791.85",
    bound: "down to",
    quote: "1296.5684",
  });
  const asks = [{ price: "65000", qty: "1" }];
  const buy = marketPriceView(estimateMarket(asks, { qty: "0.5" }, "0.0001", "0.01"), "BUY");
  assert.equal(buy.kind === "estimate" && buy.bound, "up to");
  assert.deepEqual(marketPriceView(undefined, "BUY"), { kind: "unknown" });
  // a buy by an amount too small for one step: complete, but nothing to average
  const tiny = estimateMarket(asks, { quoteQty: "1" }, "0.0001", "0.01");
  assert.deepEqual(marketPriceView(tiny, "BUY"), { kind: "unknown" });
});
