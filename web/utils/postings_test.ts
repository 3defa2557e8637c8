import assert from "node:assert/strict";
import { historyLabel, rowOfPosting, rowOfWalletChange } from "./postings.ts";

const TS = 1_764_118_000_000;

Deno.test("a fill paid from locked funds shows what left the balance, labelled as its ledger posting is", () => {
  // a resting buy filled: its quote was locked, so only the locked part moves
  const live = rowOfWalletChange({
    asset: "USD",
    freeDelta: "0",
    lockedDelta: "-650.5",
    free: "9000",
    locked: "349.5",
    reason: "TRADE",
    ref: "trd-1-7",
    ts: TS,
  });
  const ledger = rowOfPosting({
    asset: "USD",
    amount: "-650.5",
    kind: "buy_quote",
    ref: "trd-1-7",
    postedAt: TS,
  });
  assert.deepEqual(live, {
    asset: "USD",
    change: "-650.5",
    balanceAfter: "9349.5",
    label: "trade",
    ref: "trd-1-7",
    ms: TS,
  });
  assert.deepEqual({ ...live, balanceAfter: undefined }, ledger);
});

Deno.test("locks and unlocks are not history rows; fees, deposits and opening balances are", () => {
  const change = (reason: string, freeDelta: string, lockedDelta: string) =>
    rowOfWalletChange({
      asset: "USD",
      freeDelta,
      lockedDelta,
      free: "1",
      locked: "0",
      reason,
      ref: "c-1",
      ts: TS,
    });
  assert.equal(change("LOCK", "-100", "100"), undefined);
  assert.equal(change("UNLOCK", "100", "-100"), undefined);
  assert.equal(change("FEE", "-0.5", "0")?.label, "fee");
  assert.equal(change("FEE", "-0.5", "0")?.ref, "c-1");
  assert.equal(change("DEPOSIT", "250", "0")?.change, "250");
  assert.equal(change("OPEN_ACCOUNT", "100000", "0")?.label, "opening balance");
  for (
    const [kind, label] of [["sell_fee", "fee"], ["deposit", "deposit"], ["open_account", "opening balance"]]
  ) {
    assert.equal(historyLabel(kind), label);
  }
  assert.equal(historyLabel("SOMETHING_NEW"), "something new");
  // a deposit's reference is a command id live and a stream entry in the ledger: neither is shown
  assert.equal(change("DEPOSIT", "250", "0")?.ref, undefined);
  const funding = rowOfPosting({
    asset: "USD",
    amount: "250",
    kind: "deposit",
    refType: "wallet",
    ref: "wallet:1-0/0",
  });
  assert.equal(funding?.ref, undefined);
});
