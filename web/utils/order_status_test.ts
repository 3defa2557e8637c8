import assert from "node:assert/strict";
import { orderStatusText } from "./order_status.ts";

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
