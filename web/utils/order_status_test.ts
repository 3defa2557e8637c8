import assert from "node:assert/strict";
import { laterState, orderStatusText } from "./order_status.ts";

Deno.test("orderStatusText() names the status as traders do, with why the rest expired", () => {
  assert.equal(orderStatusText({ status: "ACCEPTED" }), "open");
  assert.equal(orderStatusText({ status: "PARTIALLY_FILLED" }), "partially filled");
  assert.equal(
    orderStatusText({ status: "PARTIALLY_FILLED", expireReason: "SELF_TRADE_PREVENTION" }),
    "partially filled · rest expired: self trade prevention",
  );
  assert.equal(orderStatusText({ status: "EXPIRED", expireReason: "NO_LIQUIDITY" }), "expired: no liquidity");
  assert.equal(orderStatusText({ status: "FILLED", expireReason: null }), "filled");
});

Deno.test("orderStatusText() says in plain words why a market buy by amount expired", () => {
  assert.equal(
    orderStatusText({ status: "EXPIRED", expireReason: "QUOTE_QTY_TOO_SMALL" }),
    "expired: the amount to spend buys less than one lot",
  );
  assert.equal(
    orderStatusText({ status: "EXPIRED", expireReason: "FOK_NOT_FILLABLE" }),
    "expired: it could not fill completely at once",
  );
  assert.equal(
    orderStatusText({ status: "EXPIRED", expireReason: "SOME_NEW_REASON" }),
    "expired: some new reason",
  );
});

Deno.test("laterState() keeps the later of two states of an order, in whichever order they came", () => {
  const open = { status: "ACCEPTED", filledQty: "0" };
  const part = { status: "PARTIALLY_FILLED", filledQty: "0.5" };
  const filled = { status: "FILLED", filledQty: "1" };
  const canceled = { status: "CANCELED", filledQty: "0.5" };
  assert.equal(laterState(open, filled), filled);
  // the placing answer ("open") arriving after the channel's fill does not undo it
  assert.equal(laterState(filled, open), filled);
  assert.equal(laterState(part, open), part);
  assert.equal(laterState(open, part), part);
  assert.equal(laterState(part, canceled), canceled);
  assert.equal(laterState(canceled, part), canceled);
});
