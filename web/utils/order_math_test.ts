import assert from "node:assert/strict";
import { feeFor, notional, presetAmount } from "./order_math.ts";

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
