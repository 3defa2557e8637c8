import assert from "node:assert/strict";
import type { Trade } from "../gateway_client.ts";
import { mergeFills } from "./fills.ts";

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
