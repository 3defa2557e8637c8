import assert from "node:assert/strict";
import { applyDelta, bestPrices, bookFromSnapshot, spreadOf, topLevels } from "./order_book.ts";

const snapshot = {
  symbol: "BTC-USD",
  seq: 10,
  bids: [{ price: "99.5", qty: "2" }, { price: "100", qty: "1" }],
  asks: [{ price: "101", qty: "3" }, { price: "100.5", qty: "1" }],
};

Deno.test("applyDelta() applies the next seq, ignores stale ones and refuses a gap", () => {
  const book = bookFromSnapshot(snapshot);
  assert.equal(applyDelta(book, { symbol: "BTC-USD", seq: 9, bids: [["1", "1"]], asks: [] }), "stale");
  assert.equal(book.bids.has("1"), false);
  assert.equal(
    applyDelta(book, { symbol: "BTC-USD", seq: 11, bids: [["100", "0"], ["99.9", "4"]], asks: [] }),
    "applied",
  );
  assert.deepEqual([...book.bids.keys()].sort(), ["99.5", "99.9"]);
  assert.equal(applyDelta(book, { symbol: "BTC-USD", seq: 13, bids: [], asks: [["102", "1"]] }), "gap");
  assert.equal(book.seq, 11);
  assert.equal(book.asks.has("102"), false);
});

Deno.test("topLevels() sorts each side best first and sizes depth bars by running totals", () => {
  const { bids, asks } = topLevels(bookFromSnapshot(snapshot), 10);
  assert.deepEqual(bids.map((l) => l.price), ["100", "99.5"]);
  assert.deepEqual(asks.map((l) => l.price), ["100.5", "101"]);
  // totals: bids 1, 3; asks 1, 4 -> the largest (4) is the full width
  assert.deepEqual(bids.map((l) => l.depth), [0.25, 0.75]);
  assert.deepEqual(asks.map((l) => l.depth), [0.25, 1]);
  assert.deepEqual(bestPrices(bookFromSnapshot(snapshot)), { bid: "100", ask: "100.5" });
});

Deno.test("spreadOf() gives the spread as a share of the mid price, as the CLI does", () => {
  // 1365.05 over a mid of 64385.175 is 2.1201%: the book said 2.143% (of the bid) before
  assert.deepEqual(spreadOf("63702.65", "65067.70"), { spread: "1365.05", spreadPct: "2.120" });
  assert.deepEqual(spreadOf("100", "100.01"), { spread: "0.01", spreadPct: "0.010" });
  assert.equal(spreadOf(undefined, "1"), undefined);
});
