import assert from "node:assert/strict";
import { bookFrom, bookOf, place, testCore, user } from "./book_table.ts";
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
  assert.throws(() => decodeCore(core.config, { ...state, version: 2 }, new Map()), /version 2/);
  assert.throws(() => decodeCore({ ...core.config, feeAccount: "other" }, state, new Map()), /fee account/);
});
