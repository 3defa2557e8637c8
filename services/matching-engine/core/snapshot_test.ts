import assert from "node:assert/strict";
import { balance, bookFrom, bookOf, place, testCore, user } from "./book_table.ts";
import { assertCoreInvariants } from "./invariants.ts";
import { R_DUPLICATE, R_OK } from "./reasons.ts";
import { decodeCore, encodeCore } from "./snapshot.ts";

Deno.test("decodeCore(encodeCore()) rebuilds books, wallets, counters and the clientOrderId memory", () => {
  const { core, m } = testCore({ makerFeeBps: 5, takerFeeBps: 9 });
  bookFrom(core, m, [
    [0, 103, 2],
    [0, 102, 5],
    [0, 102, 1],
    [4, 99, 0],
    [3, 98, 0],
  ]);
  const u = user(core, "u");
  place(core, u, m, { side: "BUY", price: 100, qty: 3, clientOrderId: "open-1" });
  place(core, u, m, { side: "BUY", price: 102, qty: 3 });
  // Five closed orders with a clientOrderId through a memory of three: the ring has wrapped.
  for (let i = 0; i < 5; i++) {
    place(core, u, m, { side: "BUY", tif: "IOC", price: 1, qty: 1, clientOrderId: `n-${i}` });
  }
  const copy = decodeCore(core.config, JSON.parse(JSON.stringify(encodeCore(core))), new Map());
  assertCoreInvariants(copy);
  const cm = copy.markets[0]!;
  const cu = copy.userIndex.get("u")!;
  assert.deepEqual(bookOf(cm), bookOf(m));
  assert.deepEqual([copy.lastOrderId, copy.lastTradeId, cm.tradeSeq, cm.lastPrice], [
    core.lastOrderId,
    core.lastTradeId,
    m.tradeSeq,
    m.lastPrice,
  ]);
  assert.deepEqual(JSON.stringify(encodeCore(copy)), JSON.stringify(encodeCore(core)));
  // Both remember and forget the same clientOrderIds from here on.
  for (const [c, uu, mm] of [[core, u, m], [copy, cu, cm]] as const) {
    assert.equal(
      place(c, uu, mm, { side: "BUY", price: 1, qty: 1, clientOrderId: "open-1" }).code,
      R_DUPLICATE,
    );
    assert.equal(place(c, uu, mm, { side: "BUY", price: 1, qty: 1, clientOrderId: "n-2" }).code, R_DUPLICATE);
    assert.equal(place(c, uu, mm, { side: "BUY", price: 1, qty: 1, clientOrderId: "n-1" }).code, R_OK);
    place(c, uu, mm, { side: "BUY", tif: "IOC", price: 1, qty: 1, clientOrderId: "n-5" });
    assert.equal(
      place(c, uu, mm, { side: "BUY", tif: "IOC", price: 1, qty: 1, clientOrderId: "n-2" }).code,
      R_OK,
    );
  }
  assert.deepEqual(JSON.stringify(encodeCore(copy)), JSON.stringify(encodeCore(core)));
});

Deno.test("decodeCore() refuses a state of another version or fee account", () => {
  const { core } = testCore();
  const state = encodeCore(core);
  assert.throws(() => decodeCore(core.config, { ...state, version: 3 }, new Map()), /version 3/);
  assert.throws(() => decodeCore({ ...core.config, feeAccount: "other" }, state, new Map()), /fee account/);
});

Deno.test("fees raised between starts: a resting buy pays the rates it locked for, and nothing goes negative", () => {
  // quote without decimals: 1 QUOTE per tick and lot; 70 / 130 bps so that fees show in whole units
  const { core, m } = testCore({ makerFeeBps: 70, takerFeeBps: 130 });
  const buyer = user(core, "buyer", 0, 101_300);
  const resting = place(core, buyer, m, { side: "BUY", price: 1000, qty: 100 }).order!;
  // locked: 100,000 + 1.3 % = 101,300, all the buyer had
  assert.deepEqual(balance(core, buyer, "QUOTE"), [0, 101_300]);

  // a restart with higher fees (maker 150, taker 200 bps)
  const raised = { ...core.config, makerFeeBps: 150, takerFeeBps: 200 };
  const after = decodeCore(raised, JSON.parse(JSON.stringify(encodeCore(core))), new Map());
  assert.deepEqual(after.feeHistory, [
    { fromOrderId: 0, makerBps: 70, takerBps: 130 },
    { fromOrderId: core.lastOrderId + 1, makerBps: 150, takerBps: 200 },
  ]);
  assertCoreInvariants(after);
  const am = after.markets[0]!;
  const ab = after.userIndex.get("buyer")!;
  const seller = user(after, "seller", 1_000, 0);
  place(after, seller, am, { side: "SELL", tif: "IOC", price: 1000, qty: 40 });
  // the maker paid 0.7 % of 40,000 = 280 (its own rate), not 1.5 % = 600; its lock still covers the rest
  const [free, locked] = balance(after, ab, "QUOTE");
  assert.equal(locked, 60_000 + 780, "the remainder keeps its lock at 1.3 %");
  assert.equal(free, 101_300 - 40_000 - 280 - 60_780);
  assert.ok(free >= 0);
  // the seller, a taker accepted now, pays the new 2 %
  assert.deepEqual(balance(after, seller, "QUOTE"), [40_000 - 800, 0]);
  assertCoreInvariants(after);
  assert.equal(after.ratesOf(after.orders.get(resting.id)!).makerBps, 70);

  // the history survives a snapshot; a start with the same fees adds nothing
  const again = decodeCore(raised, JSON.parse(JSON.stringify(encodeCore(after))), new Map());
  assert.equal(again.feeHistory.length, 2);
  assertCoreInvariants(again);
  // fees changed twice with no order between (a restart with other fees, then one with the first
  // ones again) leave the history as one start with the first ones would: replays compare equal
  const back = decodeCore(
    core.config,
    JSON.parse(JSON.stringify(encodeCore(decodeCore(raised, encodeCore(core), new Map())))),
    new Map(),
  );
  assert.deepEqual(back.feeHistory, core.feeHistory);
  const flipped = decodeCore(
    raised,
    encodeCore(decodeCore(core.config, encodeCore(after), new Map())),
    new Map(),
  );
  assert.deepEqual(flipped.feeHistory, after.feeHistory, "B, then A with no order, then B again");
  // a version 1 state (no history) is still read, its orders at the current rates as before
  const v1 = { ...encodeCore(core), version: 1, feeHistory: undefined };
  assert.equal(decodeCore(core.config, v1, new Map()).feeHistory.length, 1);
});
