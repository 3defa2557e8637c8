import assert from "node:assert/strict";
import { balance, bookFrom, bookOf, fillsOf, place, testCore, user } from "./book_table.ts";
import { assertCoreInvariants } from "./invariants.ts";
import {
  ACCEPTED,
  CANCELED,
  EXPIRE_FOK_NOT_FILLABLE,
  EXPIRE_INSUFFICIENT_BALANCE,
  EXPIRE_NO_LIQUIDITY,
  EXPIRE_NONE,
  EXPIRE_SELF_TRADE,
  EXPIRED,
  FILLED,
  PARTIALLY_FILLED,
} from "./model.ts";
import {
  R_AMOUNT_TOO_LARGE,
  R_DUPLICATE,
  R_INSUFFICIENT_BALANCE,
  R_INVALID_ORDER,
  R_MARKET_PAUSED,
  R_NOTIONAL_TOO_SMALL,
  R_OK,
  R_POST_ONLY_WOULD_CROSS,
  R_PRICE_OUT_OF_BAND,
  R_QTY_TOO_LARGE,
  R_QTY_TOO_SMALL,
  R_TOO_MANY_OPEN_ORDERS,
  R_UNKNOWN_ORDER,
} from "./reasons.ts";

Deno.test("place() fills a crossing bid at the resting ask price and rests the remainder", () => {
  const { core, m } = testCore();
  const [r1] = bookFrom(core, m, [
    //  bid  price  ask
    [0, 101, 5],
    [4, 99, 0],
  ]);
  const t = user(core, "taker");
  const { code, order } = place(core, t, m, { side: "BUY", price: 101, qty: 8 });
  assert.equal(code, R_OK);
  assert.deepEqual(fillsOf(core), [{ maker: r1!.id, price: 101, qty: 5 }]);
  assert.deepEqual(bookOf(m), [
    [3, 101, 0],
    [4, 99, 0],
  ]);
  assert.equal(order!.status, PARTIALLY_FILLED);
  assertCoreInvariants(core);
});

Deno.test("place() walks levels best first and each level oldest first, at the makers' prices", () => {
  const { core, m } = testCore();
  const [a1, a2, a3] = bookFrom(core, m, [
    [0, 100, 3],
    [0, 100, 2],
    [0, 102, 5],
  ]);
  const t = user(core, "taker");
  const { order } = place(core, t, m, { side: "BUY", price: 105, qty: 7 });
  assert.deepEqual(fillsOf(core), [
    { maker: a1!.id, price: 100, qty: 3 },
    { maker: a2!.id, price: 100, qty: 2 },
    { maker: a3!.id, price: 102, qty: 2 },
  ]);
  assert.deepEqual(bookOf(m), [[0, 102, 3]]);
  assert.equal(order!.status, FILLED);
  assert.equal(order!.filledQuote, 3 * 100 + 2 * 100 + 2 * 102);
  assert.equal(a1!.status, FILLED);
  assert.equal(a3!.status, PARTIALLY_FILLED);
  assertCoreInvariants(core);
});

Deno.test("place() lets a SELL take the bids from the highest price down", () => {
  const { core, m } = testCore();
  const [b1, b2] = bookFrom(core, m, [
    [4, 99, 0],
    [6, 98, 0],
  ]);
  const t = user(core, "taker");
  const { order } = place(core, t, m, { side: "SELL", price: 98, qty: 5 });
  assert.deepEqual(fillsOf(core), [
    { maker: b1!.id, price: 99, qty: 4 },
    { maker: b2!.id, price: 98, qty: 1 },
  ]);
  assert.deepEqual(bookOf(m), [[5, 98, 0]]);
  assert.equal(order!.status, FILLED);
  assertCoreInvariants(core);
});

Deno.test("place() rests a limit that crosses nothing as ACCEPTED", () => {
  const { core, m } = testCore();
  bookFrom(core, m, [[0, 101, 5]]);
  const t = user(core, "taker");
  const { order } = place(core, t, m, { side: "BUY", price: 100, qty: 2 });
  assert.equal(order!.status, ACCEPTED);
  assert.deepEqual(bookOf(m), [
    [0, 101, 5],
    [2, 100, 0],
  ]);
  assert.deepEqual(balance(core, t, "QUOTE"), [1_000_000 - 200, 200]);
  assertCoreInvariants(core);
});

Deno.test("place() IOC fills what crosses and expires the rest", async (t) => {
  await t.step("partly filled: PARTIALLY_FILLED with NO_LIQUIDITY, lock released", () => {
    const { core, m } = testCore();
    bookFrom(core, m, [[0, 101, 5]]);
    const u = user(core, "taker");
    const { order } = place(core, u, m, { side: "BUY", tif: "IOC", price: 101, qty: 8 });
    assert.equal(order!.status, PARTIALLY_FILLED);
    assert.equal(order!.expireReason, EXPIRE_NO_LIQUIDITY);
    assert.equal(order!.filled, 5);
    assert.deepEqual(bookOf(m), []);
    assert.deepEqual(balance(core, u, "QUOTE"), [1_000_000 - 505, 0]);
    assertCoreInvariants(core);
  });
  await t.step("nothing crosses: EXPIRED", () => {
    const { core, m } = testCore();
    bookFrom(core, m, [[0, 101, 5]]);
    const u = user(core, "taker");
    const { order } = place(core, u, m, { side: "BUY", tif: "IOC", price: 100, qty: 8 });
    assert.equal(order!.status, EXPIRED);
    assert.equal(order!.expireReason, EXPIRE_NO_LIQUIDITY);
    assert.deepEqual(bookOf(m), [[0, 101, 5]]);
    assertCoreInvariants(core);
  });
});

Deno.test("place() FOK fills completely or not at all", async (t) => {
  const rows: [number, number, number][] = [
    [0, 102, 5],
    [0, 101, 5],
  ];
  await t.step("not fillable within the price: EXPIRED, book and balances untouched", () => {
    const { core, m } = testCore();
    bookFrom(core, m, rows);
    const u = user(core, "taker");
    const { order } = place(core, u, m, { side: "BUY", tif: "FOK", price: 101, qty: 6 });
    assert.equal(order!.status, EXPIRED);
    assert.equal(order!.expireReason, EXPIRE_FOK_NOT_FILLABLE);
    assert.equal(core.out.fillCount, 0);
    assert.equal(core.out.wCount, 0);
    assert.deepEqual(bookOf(m), rows);
    assertCoreInvariants(core);
  });
  await t.step("more than the book holds: EXPIRED", () => {
    const { core, m } = testCore();
    bookFrom(core, m, rows);
    const { order } = place(core, user(core, "taker"), m, { side: "BUY", tif: "FOK", price: 102, qty: 11 });
    assert.equal(order!.status, EXPIRED);
    assert.deepEqual(bookOf(m), rows);
  });
  await t.step("exactly fillable: FILLED", () => {
    const { core, m } = testCore();
    bookFrom(core, m, rows);
    const { order } = place(core, user(core, "taker"), m, { side: "BUY", tif: "FOK", price: 102, qty: 10 });
    assert.equal(order!.status, FILLED);
    assert.deepEqual(bookOf(m), []);
    assertCoreInvariants(core);
  });
});

Deno.test("place() postOnly is rejected when it would cross and rests when it would not", () => {
  const { core, m } = testCore();
  bookFrom(core, m, [[0, 101, 5]]);
  const u = user(core, "taker");
  const crossing = place(core, u, m, { side: "BUY", postOnly: true, price: 101, qty: 1 });
  assert.equal(crossing.code, R_POST_ONLY_WOULD_CROSS);
  assert.equal(crossing.order, null);
  assert.match(core.rejectMessage, /101/);
  const resting = place(core, u, m, { side: "BUY", postOnly: true, price: 100, qty: 1 });
  assert.equal(resting.code, R_OK);
  assert.equal(resting.order!.status, ACCEPTED);
  assertCoreInvariants(core);
});

Deno.test("place() MARKET by quantity takes what the book has and expires the rest", async (t) => {
  await t.step("book runs out: PARTIALLY_FILLED, NO_LIQUIDITY", () => {
    const { core, m } = testCore();
    bookFrom(core, m, [
      [0, 103, 3],
      [0, 101, 2],
    ]);
    const { order } = place(core, user(core, "taker"), m, { side: "BUY", type: "MARKET", qty: 10 });
    assert.deepEqual(fillsOf(core).map((f) => [f.price, f.qty]), [[101, 2], [103, 3]]);
    assert.equal(order!.status, PARTIALLY_FILLED);
    assert.equal(order!.expireReason, EXPIRE_NO_LIQUIDITY);
    assertCoreInvariants(core);
  });
  await t.step("empty book: EXPIRED", () => {
    const { core, m } = testCore();
    const { code, order } = place(core, user(core, "taker"), m, { side: "SELL", type: "MARKET", qty: 10 });
    assert.equal(code, R_OK);
    assert.equal(order!.status, EXPIRED);
    assert.equal(order!.expireReason, EXPIRE_NO_LIQUIDITY);
  });
  await t.step("fully filled: FILLED", () => {
    const { core, m } = testCore();
    bookFrom(core, m, [[4, 99, 0]]);
    const { order } = place(core, user(core, "taker"), m, { side: "SELL", type: "MARKET", qty: 4 });
    assert.equal(order!.status, FILLED);
    assert.equal(order!.expireReason, EXPIRE_NONE);
  });
});

Deno.test("place() MARKET BUY by quantity stops where the free quote runs out", () => {
  const { core, m } = testCore();
  bookFrom(core, m, [
    [0, 110, 5],
    [0, 100, 3],
  ]);
  const poor = user(core, "poor", 0, 500);
  const { order } = place(core, poor, m, { side: "BUY", type: "MARKET", qty: 10 });
  assert.deepEqual(fillsOf(core).map((f) => [f.price, f.qty]), [[100, 3], [110, 1]]);
  assert.equal(order!.status, PARTIALLY_FILLED);
  assert.equal(order!.expireReason, EXPIRE_INSUFFICIENT_BALANCE);
  assert.deepEqual(balance(core, poor, "QUOTE"), [90, 0]);
  assert.deepEqual(balance(core, poor, "BASE"), [4, 0]);
  assertCoreInvariants(core);
});

Deno.test("place() MARKET BUY rejects when not even one lot at the best ask is affordable", () => {
  const { core, m } = testCore();
  bookFrom(core, m, [[0, 100, 3]]);
  const { code } = place(core, user(core, "poor", 0, 99), m, { side: "BUY", type: "MARKET", qty: 1 });
  assert.equal(code, R_INSUFFICIENT_BALANCE);
  assert.match(
    core.rejectMessage,
    /insufficient QUOTE: this order needs 100 QUOTE for at least one lot at the best ask and 99 QUOTE is free/,
  );
});

Deno.test("place() MARKET BUY by quote amount spends at most quoteQty, fee included", async (t) => {
  await t.step("no fee: spends the budget exactly, FILLED", () => {
    const { core, m } = testCore();
    bookFrom(core, m, [
      [0, 110, 5],
      [0, 100, 3],
    ]);
    const u = user(core, "taker");
    const { order } = place(core, u, m, { side: "BUY", type: "MARKET", quoteQty: 520 });
    assert.deepEqual(fillsOf(core).map((f) => [f.price, f.qty]), [[100, 3], [110, 2]]);
    assert.equal(order!.status, FILLED);
    assert.equal(order!.qty, 5);
    assert.equal(order!.filledQuote, 520);
    assert.deepEqual(balance(core, u, "QUOTE"), [1_000_000 - 520, 0]);
    assertCoreInvariants(core);
  });
  await t.step("taker fee 1%: stops before the fee would pass the budget", () => {
    const { core, m } = testCore({ takerFeeBps: 100 });
    bookFrom(core, m, [
      [0, 110, 5],
      [0, 100, 3],
    ]);
    const u = user(core, "taker");
    const fees = core.feeUser;
    const { order } = place(core, u, m, { side: "BUY", type: "MARKET", quoteQty: 520 });
    // 3 @ 100 (fee ceil(3.00) = 3), then 1 @ 110 (fee ceil(4.10) - 3 = 2): 415 spent; a 2nd lot at 110 would need 223 > 217.
    assert.deepEqual(fillsOf(core).map((f) => [f.price, f.qty]), [[100, 3], [110, 1]]);
    assert.equal(order!.status, FILLED);
    assert.deepEqual(balance(core, u, "QUOTE"), [1_000_000 - 415, 0]);
    assert.deepEqual(balance(core, fees, "QUOTE"), [5, 0]);
    assertCoreInvariants(core);
  });
  await t.step("book runs out first: PARTIALLY_FILLED", () => {
    const { core, m } = testCore();
    bookFrom(core, m, [[0, 100, 3]]);
    const { order } = place(core, user(core, "taker"), m, { side: "BUY", type: "MARKET", quoteQty: 1000 });
    assert.equal(order!.status, PARTIALLY_FILLED);
    assert.equal(order!.expireReason, EXPIRE_NO_LIQUIDITY);
  });
  await t.step("more than the free balance: INSUFFICIENT_BALANCE", () => {
    const { core, m } = testCore();
    const { code } = place(core, user(core, "poor", 0, 10), m, { side: "BUY", type: "MARKET", quoteQty: 11 });
    assert.equal(code, R_INSUFFICIENT_BALANCE);
    assert.equal(core.rejectField, "quoteQty");
  });
});

Deno.test("place() a BUY limit filled at a better price releases the difference", () => {
  const { core, m } = testCore();
  bookFrom(core, m, [[0, 100, 5]]);
  const u = user(core, "taker");
  const { order } = place(core, u, m, { side: "BUY", price: 105, qty: 8 });
  // Locked 8 x 105 = 840; paid 5 x 100 = 500; the 3 resting need 315; 25 came back.
  assert.equal(order!.locked, 315);
  assert.deepEqual(balance(core, u, "QUOTE"), [1_000_000 - 500 - 315, 315]);
  assertCoreInvariants(core);
});

Deno.test("cancel() releases exactly the remaining lock and returns the order CANCELED", () => {
  const { core, m } = testCore();
  bookFrom(core, m, [[0, 100, 5]]);
  const u = user(core, "taker");
  const { order } = place(core, u, m, { side: "BUY", price: 105, qty: 8 });
  core.begin(3);
  assert.equal(core.cancel(u, order!.id, undefined, null), R_OK);
  assert.equal(core.order, order);
  assert.equal(order!.status, CANCELED);
  assert.deepEqual(balance(core, u, "QUOTE"), [1_000_000 - 500, 0]);
  assert.deepEqual(bookOf(m), []);
  core.begin(4);
  assert.equal(core.cancel(u, order!.id, undefined, null), R_UNKNOWN_ORDER);
  assertCoreInvariants(core);
});

Deno.test("cancel() finds an order by clientOrderId, and refuses another user's order", () => {
  const { core, m } = testCore();
  const a = user(core, "a");
  const b = user(core, "b");
  const { order } = place(core, a, m, { side: "SELL", price: 110, qty: 2, clientOrderId: "x-1" });
  core.begin(3);
  assert.equal(core.cancel(b, order!.id, undefined, null), R_UNKNOWN_ORDER);
  assert.equal(core.cancel(b, -1, "x-1", null), R_UNKNOWN_ORDER);
  assert.equal(core.cancel(a, -1, "x-1", null), R_OK);
  assert.equal(order!.status, CANCELED);
  assert.deepEqual(balance(core, a, "BASE"), [1_000_000, 0]);
  core.begin(4);
  assert.equal(core.cancel(a, -1, "x-1", null), R_UNKNOWN_ORDER);
  assertCoreInvariants(core);
});

Deno.test("cancelAll() cancels one user's orders on one market, oldest first", () => {
  const { core, m } = testCore();
  core.begin(1);
  assert.equal(
    core.addMarket({
      symbol: "OTHER-QUOTE",
      base: "OTHER",
      quote: "QUOTE",
      tickSize: "1",
      stepSize: "1",
      minQty: "1",
      maxQty: "1000",
      minNotional: "0",
      status: "TRADING",
      startPrice: "10",
    }),
    R_OK,
  );
  const other = core.market!;
  const a = user(core, "a");
  const b = user(core, "b");
  core.begin(1);
  core.deposit(a, core.assetIndex.get("OTHER")!, 100 * 1e8);
  const a1 = place(core, a, m, { side: "BUY", price: 90, qty: 1 }).order!;
  const a2 = place(core, a, other, { side: "SELL", price: 12, qty: 1 }).order!;
  const a3 = place(core, a, m, { side: "SELL", price: 120, qty: 1 }).order!;
  const b1 = place(core, b, m, { side: "BUY", price: 91, qty: 1 }).order!;
  core.begin(5);
  assert.equal(core.cancelAll(a, m), R_OK);
  assert.deepEqual(core.canceled.map((o) => o.id), [a1.id, a3.id]);
  assert.equal(a2.status, ACCEPTED);
  assert.equal(b1.status, ACCEPTED);
  assert.deepEqual(bookOf(m), [[1, 91, 0]]);
  assertCoreInvariants(core);
});

Deno.test("place() with a known clientOrderId returns the original order and places nothing", () => {
  const { core, m } = testCore();
  bookFrom(core, m, [[0, 100, 5]]);
  const u = user(core, "taker");
  const first = place(core, u, m, { side: "BUY", price: 100, qty: 2, clientOrderId: "c-1" });
  assert.equal(first.order!.status, FILLED);
  const last = core.lastOrderId;
  const again = place(core, u, m, { side: "BUY", price: 100, qty: 2, clientOrderId: "c-1" });
  assert.equal(again.code, R_DUPLICATE);
  assert.equal(again.order, first.order);
  assert.equal(core.lastOrderId, last);
  assert.equal(core.out.fillCount, 0);
  // Another user may use the same clientOrderId.
  assert.equal(
    place(core, user(core, "other"), m, { side: "BUY", price: 90, qty: 1, clientOrderId: "c-1" }).code,
    R_OK,
  );
  // Closed ones are remembered up to the configured count (3 here), then forgotten.
  for (let i = 0; i < 3; i++) {
    const r = place(core, u, m, { side: "BUY", tif: "IOC", price: 1, qty: 1, clientOrderId: `n-${i}` });
    assert.equal(r.order!.status, EXPIRED);
  }
  assert.equal(place(core, u, m, { side: "BUY", price: 100, qty: 1, clientOrderId: "c-1" }).code, R_OK);
  assertCoreInvariants(core);
});

Deno.test("self-trade prevention follows the taker's mode", async (t) => {
  function setup() {
    const { core, m } = testCore();
    const a = user(core, "a");
    const b = user(core, "b");
    const a1 = place(core, a, m, { side: "SELL", price: 100, qty: 2 }).order!;
    const b1 = place(core, b, m, { side: "SELL", price: 100, qty: 3 }).order!;
    const a2 = place(core, a, m, { side: "SELL", price: 101, qty: 4 }).order!;
    return { core, m, a, b, a1, b1, a2 };
  }
  await t.step("EXPIRE_TAKER: the taker expires at its own order, the maker stays", () => {
    const { core, m, a } = setup();
    const { order } = place(core, a, m, { side: "BUY", price: 101, qty: 4, stp: "EXPIRE_TAKER" });
    assert.equal(order!.status, EXPIRED);
    assert.equal(order!.expireReason, EXPIRE_SELF_TRADE);
    assert.equal(core.out.fillCount, 0);
    assert.deepEqual(bookOf(m), [
      [0, 101, 4],
      [0, 100, 5],
    ]);
    assertCoreInvariants(core);
  });
  await t.step("EXPIRE_TAKER after a fill: PARTIALLY_FILLED", () => {
    const { core, m, b } = setup();
    // b's own order b1 sits behind a1: b trades with a1, then stops at b1.
    const { order } = place(core, b, m, { side: "BUY", price: 101, qty: 4, stp: "EXPIRE_TAKER" });
    assert.deepEqual(fillsOf(core).map((f) => [f.price, f.qty]), [[100, 2]]);
    assert.equal(order!.status, PARTIALLY_FILLED);
    assert.equal(order!.expireReason, EXPIRE_SELF_TRADE);
    assertCoreInvariants(core);
  });
  await t.step("EXPIRE_MAKER: own makers expire, the taker trades on and rests", () => {
    const { core, m, a, a1, b1, a2 } = setup();
    const { order } = place(core, a, m, { side: "BUY", price: 101, qty: 4, stp: "EXPIRE_MAKER" });
    assert.deepEqual(fillsOf(core), [{ maker: b1.id, price: 100, qty: 3 }]);
    assert.equal(a1.status, EXPIRED);
    assert.equal(a1.expireReason, EXPIRE_SELF_TRADE);
    assert.equal(a2.status, EXPIRED);
    assert.equal(order!.status, PARTIALLY_FILLED);
    assert.deepEqual(bookOf(m), [[1, 101, 0]]);
    assert.deepEqual(balance(core, a, "BASE"), [1_000_000 + 3, 0]);
    assertCoreInvariants(core);
  });
  await t.step("EXPIRE_BOTH: the own maker and the taker expire", () => {
    const { core, m, a, a1 } = setup();
    const { order } = place(core, a, m, { side: "BUY", price: 101, qty: 4, stp: "EXPIRE_BOTH" });
    assert.equal(a1.status, EXPIRED);
    assert.equal(order!.status, EXPIRED);
    assert.equal(order!.expireReason, EXPIRE_SELF_TRADE);
    assert.deepEqual(bookOf(m), [
      [0, 101, 4],
      [0, 100, 3],
    ]);
    assertCoreInvariants(core);
  });
  await t.step("NONE: the user trades with itself", () => {
    const { core, m, a, a1 } = setup();
    const { order } = place(core, a, m, { side: "BUY", price: 100, qty: 2, stp: "NONE" });
    assert.deepEqual(fillsOf(core), [{ maker: a1.id, price: 100, qty: 2 }]);
    assert.equal(order!.status, FILLED);
    assert.deepEqual(balance(core, a, "QUOTE"), [1_000_000, 0]);
    assertCoreInvariants(core);
  });
  await t.step("FOK counts only what it may trade with", () => {
    const { core, m, a } = setup();
    assert.equal(
      place(core, a, m, { side: "BUY", tif: "FOK", price: 101, qty: 3, stp: "EXPIRE_TAKER" }).order!.status,
      EXPIRED,
    );
    assert.equal(
      place(core, a, m, { side: "BUY", tif: "FOK", price: 101, qty: 3, stp: "EXPIRE_MAKER" }).order!.status,
      FILLED,
    );
    assertCoreInvariants(core);
  });
});

Deno.test("fills charge maker and taker fees in the quote asset, rounded up, to the fee account", () => {
  const { core, m } = testCore({ makerFeeBps: 10, takerFeeBps: 25 });
  const mk = user(core, "mk");
  const tk = user(core, "tk");
  place(core, mk, m, { side: "SELL", price: 1000, qty: 10 });
  place(core, tk, m, { side: "BUY", price: 1000, qty: 10 });
  assert.equal(core.out.fMakerFee[0], 10);
  assert.equal(core.out.fTakerFee[0], 25);
  assert.deepEqual(balance(core, tk, "QUOTE"), [1_000_000 - 10_000 - 25, 0]);
  assert.deepEqual(balance(core, mk, "QUOTE"), [1_000_000 + 10_000 - 10, 0]);
  assert.deepEqual(balance(core, core.feeUser, "QUOTE"), [35, 0]);
  assertCoreInvariants(core);
});

Deno.test("an order's fee is the ceiling of its total fee, however it is split into fills", () => {
  const { core, m } = testCore({ takerFeeBps: 25 });
  bookFrom(core, m, [
    [0, 3, 1],
    [0, 3, 1],
    [0, 3, 1],
  ]);
  const tk = user(core, "tk");
  place(core, tk, m, { side: "BUY", price: 3, qty: 3 });
  // 9 x 0.25% = 0.0225 -> 1 in total, charged on the first fill.
  assert.deepEqual([...core.out.fTakerFee.subarray(0, 3)], [1, 0, 0]);
  assert.deepEqual(balance(core, tk, "QUOTE"), [1_000_000 - 10, 0]);
  assertCoreInvariants(core);
});

Deno.test("a resting BUY locks notional plus the higher fee rate and keeps exactly what it needs", () => {
  const { core, m } = testCore({ makerFeeBps: 30, takerFeeBps: 10 });
  const b = user(core, "b");
  const s = user(core, "s");
  const { order } = place(core, b, m, { side: "BUY", price: 1000, qty: 10 });
  assert.equal(order!.locked, 10_000 + 30);
  place(core, s, m, { side: "SELL", price: 1000, qty: 3 });
  assert.equal(core.out.fMakerFee[0], 9);
  assert.equal(order!.locked, 7_000 + 21);
  assertCoreInvariants(core);
});

Deno.test("trade ids and per-symbol sequences only grow", () => {
  const { core, m } = testCore();
  bookFrom(core, m, [[0, 100, 1], [0, 101, 1], [0, 102, 1]]);
  place(core, user(core, "t"), m, { side: "BUY", type: "MARKET", qty: 3 });
  assert.deepEqual([...core.out.fTradeId.subarray(0, 3)], [1, 2, 3]);
  assert.deepEqual([...core.out.fSeq.subarray(0, 3)], [1, 2, 3]);
  assert.equal(m.tradeSeq, 3);
  assert.equal(m.lastPrice, 102);
});

Deno.test("place() rejects with a reason, the field and the allowed value", async (t) => {
  const cases: [
    name: string,
    run: () => { code: number; field: string; message: string },
    code: number,
    re: RegExp,
  ][] = [
    [
      "QTY_TOO_SMALL",
      () => reject({ minQty: "5" }, { side: "BUY", price: 100, qty: 4 }),
      R_QTY_TOO_SMALL,
      /at least 5/,
    ],
    [
      "QTY_TOO_LARGE (maxQty)",
      () => reject({ maxQty: "100" }, { side: "BUY", price: 100, qty: 101 }),
      R_QTY_TOO_LARGE,
      /at most 100/,
    ],
    [
      "QTY_TOO_LARGE (notional past 2^53)",
      () => reject({ maxQty: "100000000000" }, { side: "SELL", price: 1e9, qty: 1e8 }),
      R_QTY_TOO_LARGE,
      /too large/,
    ],
    [
      "NOTIONAL_TOO_SMALL",
      () => reject({ minNotional: "1000" }, { side: "BUY", price: 100, qty: 5 }),
      R_NOTIONAL_TOO_SMALL,
      /minNotional 1000/,
    ],
    [
      "PRICE_OUT_OF_BAND (high)",
      () => reject({ priceBandPct: 20 }, { side: "BUY", price: 121, qty: 1 }),
      R_PRICE_OUT_OF_BAND,
      /from 80 to 120/,
    ],
    [
      "PRICE_OUT_OF_BAND (low)",
      () => reject({ priceBandPct: 20 }, { side: "SELL", price: 79, qty: 1 }),
      R_PRICE_OUT_OF_BAND,
      /20%/,
    ],
    [
      "INSUFFICIENT_BALANCE",
      () => reject({ maxQty: "10000000" }, { side: "SELL", price: 100, qty: 2_000_000 }),
      R_INSUFFICIENT_BALANCE,
      /BASE/,
    ],
    [
      "INVALID_ORDER (quoteQty on a SELL)",
      () => reject({}, { side: "SELL", type: "MARKET", quoteQty: 10 }),
      R_INVALID_ORDER,
      /MARKET BUY/,
    ],
    [
      "INVALID_ORDER (FOK MARKET)",
      () => reject({}, { side: "BUY", type: "MARKET", tif: "FOK", qty: 1 }),
      R_INVALID_ORDER,
      /LIMIT/,
    ],
    [
      "INVALID_ORDER (postOnly IOC)",
      () => reject({}, { side: "BUY", tif: "IOC", postOnly: true, price: 1, qty: 1 }),
      R_INVALID_ORDER,
      /GTC/,
    ],
  ];
  for (const [name, run, code, re] of cases) {
    await t.step(name, () => {
      const r = run();
      assert.equal(r.code, code, r.message);
      assert.match(r.message, re);
      assert.ok(r.field.length > 0);
    });
  }
  await t.step("PRICE_OUT_OF_BAND follows the last trade price", () => {
    const { core, m } = testCore({ priceBandPct: 20 });
    bookFrom(core, m, [[0, 120, 1]]);
    place(core, user(core, "t"), m, { side: "BUY", price: 120, qty: 1 });
    assert.equal(m.lastPrice, 120);
    assert.equal(place(core, user(core, "t"), m, { side: "BUY", price: 144, qty: 1 }).code, R_OK);
  });
  await t.step("TOO_MANY_OPEN_ORDERS", () => {
    const { core, m } = testCore({ maxOpenOrdersPerUser: 2 });
    const u = user(core, "u");
    place(core, u, m, { side: "BUY", price: 90, qty: 1 });
    place(core, u, m, { side: "BUY", price: 91, qty: 1 });
    assert.equal(place(core, u, m, { side: "BUY", price: 92, qty: 1 }).code, R_TOO_MANY_OPEN_ORDERS);
    assert.match(core.rejectMessage, /at most 2/);
    // An IOC never rests, so it is allowed.
    assert.equal(place(core, u, m, { side: "BUY", tif: "IOC", price: 92, qty: 1 }).code, R_OK);
  });
  await t.step("MARKET_PAUSED, and trading again after resume", () => {
    const { core, m } = testCore();
    const u = user(core, "u");
    core.setMarketStatus(m, false);
    assert.equal(place(core, u, m, { side: "BUY", price: 90, qty: 1 }).code, R_MARKET_PAUSED);
    assert.equal(m.spec.status, "PAUSED");
    core.setMarketStatus(m, true);
    assert.equal(place(core, u, m, { side: "BUY", price: 90, qty: 1 }).code, R_OK);
  });
  await t.step("AMOUNT_TOO_LARGE when a deposit would pass 2^53 in total", () => {
    const { core } = testCore();
    const u = user(core, "u");
    core.begin(1);
    assert.equal(core.deposit(u, 0, Number.MAX_SAFE_INTEGER), R_AMOUNT_TOO_LARGE);
    assert.match(core.rejectMessage, /deposit at most/);
  });
});

function reject(
  opts: Parameters<typeof testCore>[0],
  spec: Parameters<typeof place>[3],
): { code: number; field: string; message: string } {
  const { core, m } = testCore(opts);
  const u = user(core, "u");
  const { code } = place(core, u, m, spec);
  assertCoreInvariants(core);
  return { code, field: core.rejectField, message: core.rejectMessage };
}
