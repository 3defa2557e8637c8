import assert from "node:assert/strict";
import type { Trade } from "../gateway_client.ts";
import { attachFills, mergeFills } from "./fills.ts";

const fill = (n: number, ts = 1000 + n): Trade =>
  ({ tradeId: `trd-e-${n}`, symbol: "BTC-USD", price: "1", qty: "1", ts }) as Trade;
const ids = (list: Trade[]) => list.map((f) => f.tradeId);

Deno.test("mergeFills() keeps fills that fall off the newest page when it is fetched again", () => {
  // the newest page (3 fills) and an older page, then 2 new trades and the newest page again
  let list = mergeFills([], [fill(6), fill(5), fill(4)]);
  list = mergeFills(list, [fill(3), fill(2)]);
  list = mergeFills(list, [fill(8), fill(7), fill(6)]);
  assert.deepEqual(ids(list), ["trd-e-8", "trd-e-7", "trd-e-6", "trd-e-5", "trd-e-4", "trd-e-3", "trd-e-2"]);
});

Deno.test("mergeFills() orders fills of one millisecond by trade id, numerically", () => {
  const list = mergeFills([], [fill(9, 5), fill(10, 5), fill(11, 4)]);
  assert.deepEqual(ids(list), ["trd-e-10", "trd-e-9", "trd-e-11"]);
});

Deno.test("attachFills() adds a live trade's fill to its orders, keeping what they had, oldest first", () => {
  const t = (n: number, buy: string, sell: string) => ({ ...fill(n), buyOrderId: buy, sellOrderId: sell });
  const orders: { orderId: string; fills?: Trade[] }[] = [
    { orderId: "o1", fills: [t(1, "o1", "x")] },
    { orderId: "o2" },
    { orderId: "o3" },
  ];
  const out = attachFills(orders, [t(3, "o1", "o2"), t(2, "o1", "y"), t(1, "o1", "x")]);
  assert.deepEqual(ids(out[0].fills!), ["trd-e-1", "trd-e-2", "trd-e-3"], "each once, oldest first");
  assert.deepEqual(ids(out[1].fills!), ["trd-e-3"]);
  assert.equal(out[2], orders[2], "an order no trade touches is the same object");
  // a self-trade names the order on both sides: one fill, not two
  assert.deepEqual(ids(attachFills(orders.slice(1, 2), [t(4, "o2", "o2")])[0].fills!), ["trd-e-4"]);
});
