import assert from "node:assert/strict";
import { needOf, STALE_PENDING_MS } from "./consumer_need.ts";

Deno.test("needOf(): the most a group has not read or holds; all of it when that cannot be told", () => {
  const now = 1_000_000;
  assert.equal(needOf([], now), undefined, "no groups: the cap alone decides");
  assert.equal(
    needOf([
      { name: "ledger", lag: 120, pending: 3, oldestPendingMs: now - 50 },
      { name: "candles", lag: 4, pending: 0 },
    ], now),
    123,
  );
  assert.equal(needOf([{ name: "g", lag: null, pending: 0 }], now), "all", "Redis cannot tell the lag");
  assert.equal(
    needOf([{ name: "g", lag: 0, pending: 2, oldestPendingMs: now - STALE_PENDING_MS - 1 }], now),
    "all",
    "entries held for long (a consumer gone or stuck): how far back they reach is unknown",
  );
});
