import assert from "node:assert/strict";
import { OrderRetry, outcomeUnknown } from "./order_retry.ts";

const buy = {
  symbol: "BTC-USD",
  side: "BUY",
  type: "LIMIT",
  timeInForce: "GTC",
  price: "60300",
  qty: "0.001",
} as const;

function retry() {
  let n = 0;
  return new OrderRetry(() => `web-${++n}`);
}

Deno.test("OrderRetry: the same order after an engine timeout goes out with the same id", () => {
  const r = retry();
  const first = r.idFor(buy);
  r.settle(buy, first, 504);
  assert.ok(r.unsettled);
  assert.equal(r.idFor({ ...buy }), first, "a retry cannot place it twice");
  r.settle(buy, first, "answered");
  assert.ok(!r.unsettled);
  assert.notEqual(r.idFor(buy), first, "once answered, the next order is a new one");
});

Deno.test("OrderRetry: a changed order, or a clear refusal, starts a new id", () => {
  const r = retry();
  const first = r.idFor(buy);
  r.settle(buy, first, undefined); // the network failed on the way back
  assert.notEqual(r.idFor({ ...buy, qty: "0.002" }), first, "another amount is another order");
  assert.notEqual(r.idFor({ ...buy, side: "SELL" }), first);
  assert.equal(r.idFor(buy), first);
  assert.equal(
    r.idFor({ ...buy, price: "60300.00", qty: "0.0010" }),
    first,
    "the same amounts written otherwise",
  );
  r.settle(buy, first, 400);
  assert.notEqual(r.idFor(buy), first, "a 400 placed nothing");
});

Deno.test("outcomeUnknown(): no answer or a 5xx may have placed the order, a 4xx did not", () => {
  for (const s of [undefined, 500, 502, 503, 504]) assert.ok(outcomeUnknown(s), String(s));
  for (const s of [400, 401, 409, 422, 429]) assert.ok(!outcomeUnknown(s), String(s));
});
