import assert from "node:assert/strict";
import { DEFAULT_MARKETS, type OrderAck } from "@lib/contracts";
import { sampleOrderAck } from "@lib/testing";
import {
  cancelAnswered,
  forgetUnanswered,
  Funds,
  orderUpdated,
  type OwnOrder,
  placeAnswered,
  releaseOf,
} from "./account.ts";
import { marketOf, toUnits } from "./market.ts";

const BTC = marketOf(DEFAULT_MARKETS[0]); // BTC-USD, tick 0.01, step 0.0001
const usd = (text: string) => toUnits(text);

function order(over: Partial<OwnOrder> = {}): OwnOrder {
  return {
    seq: 1,
    clientOrderId: "n1.r1.1",
    side: "BUY",
    ticks: 6_500_000, // 65000.00
    lots: 10, // 0.001 BTC
    state: "sent",
    since: 1,
    ...over,
  };
}

function ack(clientOrderId: string, status: OrderAck["status"], remainingQty: string): OrderAck {
  return sampleOrderAck({ clientOrderId, status, remainingQty });
}

Deno.test("Funds: an order on its way holds what it reserved until the engine answers it", () => {
  const f = new Funds();
  f.load([{ asset: "USD", free: usd("1000"), locked: 0n }]);
  f.reserve(7, "USD", usd("300"), 1);
  assert.equal(f.free("USD"), usd("700"));
  assert.equal(f.reservedFor(7), usd("300"));
  // the answer and the engine's wallet event of the same command: the lock is in the balances now
  f.settle(7);
  f.apply("USD", usd("710"), usd("290"));
  assert.equal(f.free("USD"), usd("710"));
  assert.equal(f.held("USD"), usd("1000"));
  assert.equal(f.reservedFor(7), 0n);
  // a wallet read keeps what orders still on their way reserved
  f.reserve(8, "USD", usd("100"), 2);
  f.load([{ asset: "USD", free: usd("710"), locked: usd("290") }]);
  assert.equal(f.free("USD"), usd("610"));
});

Deno.test("Funds: the first balance seen is the inventory reference; later ones do not move it", () => {
  const f = new Funds();
  f.apply("BTC", toUnits("1"), toUnits("0.5"));
  assert.equal(f.known, false, "an event alone is not a wallet read");
  f.load([{ asset: "BTC", free: toUnits("2"), locked: 0n }, { asset: "USD", free: usd("5"), locked: 0n }]);
  f.apply("BTC", toUnits("3"), 0n);
  assert.equal(f.known, true);
  assert.equal(f.reference.get("BTC"), toUnits("1.5"));
  assert.equal(f.reference.get("USD"), usd("5"));
  assert.equal(f.held("BTC"), toUnits("3"));
});

Deno.test("Funds.forgetBefore() drops reservations never answered", () => {
  const f = new Funds();
  f.load([{ asset: "USD", free: usd("100"), locked: 0n }]);
  f.reserve(1, "USD", usd("10"), 5);
  f.reserve(2, "USD", usd("20"), 6);
  f.forgetBefore(5);
  assert.equal(f.free("USD"), usd("80"));
});

Deno.test("placeAnswered(): a resting order is open with its remaining lots; anything else is gone", () => {
  const orders = [
    order({ seq: 1, clientOrderId: "a" }),
    order({ seq: 2, clientOrderId: "b" }),
    order({ seq: 3, clientOrderId: "c" }),
    order({ seq: 4, clientOrderId: "d", state: "canceling", cancelSeq: 9 }),
  ];
  placeAnswered(orders, 1, ack("a", "PARTIALLY_FILLED", "0.0004"), BTC, 3);
  placeAnswered(orders, 2, ack("b", "FILLED", "0"), BTC, 3);
  placeAnswered(orders, 3, undefined, BTC, 3); // rejected
  // it traded against the bot's own order on the other side, and self-trade prevention expired it
  orders.push(order({ seq: 5, clientOrderId: "e" }));
  placeAnswered(
    orders,
    5,
    { ...ack("e", "PARTIALLY_FILLED", "0.0005"), expireReason: "SELF_TRADE_PREVENTION" },
    BTC,
    3,
  );
  placeAnswered(orders, 4, ack("d", "ACCEPTED", "0.001"), BTC, 3);
  assert.deepEqual(orders.map((o) => [o.clientOrderId, o.state, o.lots]), [
    ["a", "open", 4],
    ["d", "canceling", 10], // its cancel is on its way: it stays canceling
  ]);
  assert.equal(orders[0].since, 3);
});

Deno.test("orderUpdated(): a fill leaves the remaining lots, a close removes the order", () => {
  const orders = ["a", "b", "c", "d"].map((c, i) => order({ seq: i + 1, clientOrderId: c, state: "open" }));
  orderUpdated(orders, { event: "TRADE", order: ack("a", "PARTIALLY_FILLED", "0.0007") }, BTC, 5);
  orderUpdated(orders, { event: "TRADE", order: ack("b", "FILLED", "0") }, BTC, 5);
  orderUpdated(orders, { event: "CANCELED", order: ack("c", "CANCELED", "0.001") }, BTC, 5);
  // self-trade prevention expires a partly filled order: the status stays PARTIALLY_FILLED
  orderUpdated(
    orders,
    {
      event: "EXPIRED",
      order: { ...ack("d", "PARTIALLY_FILLED", "0.0005"), expireReason: "SELF_TRADE_PREVENTION" },
    },
    BTC,
    5,
  );
  orderUpdated(orders, { event: "CANCELED", order: ack("someone-else", "CANCELED", "0") }, BTC, 5);
  assert.deepEqual(orders.map((o) => [o.clientOrderId, o.lots]), [["a", 7]]);
});

Deno.test("cancelAnswered() closes the orders of that cancel only, whether it canceled or found them gone", () => {
  const orders = [
    order({ seq: 1, state: "canceling", cancelSeq: 5 }),
    order({ seq: 2, state: "canceling", cancelSeq: 5 }),
    order({ seq: 3, state: "canceling", cancelSeq: 6 }),
    order({ seq: 4, state: "open" }),
  ];
  cancelAnswered(orders, 5);
  assert.deepEqual(orders.map((o) => o.seq), [3, 4]);
});

Deno.test("forgetUnanswered() forgets orders whose place or cancel went unanswered, not open ones", () => {
  const orders = [
    order({ seq: 1, state: "sent", since: 10 }),
    order({ seq: 2, state: "canceling", since: 10, cancelSeq: 9 }),
    order({ seq: 3, state: "open", since: 10 }),
    order({ seq: 4, state: "sent", since: 11 }),
  ];
  forgetUnanswered(orders, 10);
  assert.deepEqual(orders.map((o) => o.seq), [3, 4]);
});

Deno.test("releaseOf(): what a cancel gives back, as far as the bot knows", () => {
  const f = new Funds();
  f.reserve(1, "USD", usd("70"), 1);
  assert.equal(releaseOf(order({ seq: 1, state: "sent" }), BTC, f), usd("70"));
  // an open buy of 4 lots (0.0004 BTC) at 65000: 26 USD
  assert.equal(releaseOf(order({ state: "open", lots: 4 }), BTC, f), usd("26"));
  assert.equal(releaseOf(order({ state: "open", side: "SELL", lots: 4 }), BTC, f), toUnits("0.0004"));
  assert.equal(releaseOf(order({ state: "canceling", cancelSeq: 2 }), BTC, f), 0n);
});
