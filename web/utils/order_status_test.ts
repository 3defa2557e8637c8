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
