import assert from "node:assert/strict";
import { fromScaled, toScaled } from "@lib/candles";
import type { WalletEvent } from "@lib/contracts";
import {
  EXTERNAL_ACCOUNT,
  type Posting,
  postingsForExecution,
  postingsForWalletEvent,
  sampleExecutions,
} from "./mod.ts";

function sums(postings: Posting[]): Record<string, string> {
  const out: Record<string, bigint> = {};
  for (const p of postings) out[p.asset] = (out[p.asset] ?? 0n) + toScaled(p.amount);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromScaled(v)]));
}

Deno.test("postingsForExecution() moves base and quote between the right parties and fees to the fee account", () => {
  const [e] = sampleExecutions({ count: 1, symbols: ["BTC-USD"], makerFeeBps: 2, takerFeeBps: 10 });
  const taker = e.takerSide === "BUY" ? e.buyerUserId : e.sellerUserId;
  const postings = postingsForExecution(
    { ...e, takerSide: "SELL", buyerUserId: "mia", sellerUserId: taker },
    "fees",
  );
  const byKind = Object.fromEntries(postings.map((p) => [p.kind, [p.account, p.asset, p.amount]]));
  assert.deepEqual(byKind.buy_base, ["mia", "BTC", e.qty]);
  assert.deepEqual(byKind.buy_quote, ["mia", "USD", `-${e.quoteQty}`]);
  assert.deepEqual(byKind.buy_fee, ["mia", "USD", `-${e.makerFee}`], "the buyer is the maker here");
  assert.deepEqual(byKind.sell_base, [taker, "BTC", `-${e.qty}`]);
  assert.deepEqual(byKind.sell_quote, [taker, "USD", e.quoteQty]);
  assert.deepEqual(byKind.sell_fee, [taker, "USD", `-${e.takerFee}`]);
  assert.deepEqual(byKind.fee_income, [
    "fees",
    "USD",
    fromScaled(toScaled(e.makerFee) + toScaled(e.takerFee)),
  ]);
});

Deno.test("postingsForExecution() sums to zero per asset, fees or not, self-trades included", () => {
  const flow = [
    ...sampleExecutions({
      count: 200,
      symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
      makerFeeBps: 1,
      takerFeeBps: 7,
    }),
    ...sampleExecutions({ count: 50, idPrefix: "Z" }),
  ];
  for (const e of flow) {
    for (const [asset, sum] of Object.entries(sums(postingsForExecution(e, "fees")))) {
      assert.equal(sum, "0", `${e.tradeId} ${asset}`);
    }
  }
  const [e] = flow;
  const self = postingsForExecution({ ...e, buyerUserId: "solo", sellerUserId: "solo" }, "fees");
  assert.ok(self.every((p) => p.account === "solo" || p.account === "fees"));
  assert.equal(new Set(self.map((p) => p.leg)).size, self.length, "each leg once");
  const noFees = postingsForExecution({ ...e, makerFee: "0", takerFee: "0.000" }, "fees");
  assert.deepEqual(noFees.map((p) => p.kind), ["buy_base", "buy_quote", "sell_base", "sell_quote"]);
});

Deno.test("postingsForWalletEvent() funds from the external account and ignores internal moves", () => {
  const ev = (reason: WalletEvent["reason"], freeDelta: string, lockedDelta = "0"): WalletEvent => ({
    userId: "alice",
    asset: "USD",
    freeDelta,
    lockedDelta,
    free: "0",
    locked: "0",
    reason,
    ts: 1000,
  });
  assert.deepEqual(
    postingsForWalletEvent(ev("OPEN_ACCOUNT", "100000"), "5-0").map((p) => [p.account, p.amount, p.ref]),
    [
      ["alice", "100000", "wallet:5-0"],
      [EXTERNAL_ACCOUNT, "-100000", "wallet:5-0"],
    ],
  );
  assert.deepEqual(
    postingsForWalletEvent(ev("DEPOSIT", "2.5", "0.5"), "6-1").map((p) => [p.kind, p.amount]),
    [
      ["deposit", "3"],
      ["deposit", "-3"],
    ],
  );
  for (const r of ["LOCK", "UNLOCK", "TRADE", "FEE"] as const) {
    assert.deepEqual(postingsForWalletEvent(ev(r, "-1", "1"), "7-0"), [], r);
  }
});
