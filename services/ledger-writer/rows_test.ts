import assert from "node:assert/strict";
import { sampleExecutions } from "@lib/ledger";
import { invalidTradeReason, latestPerOrder, streamVersion, tradeRow } from "./rows.ts";

Deno.test("tradeRow() takes buyer and seller from the execution and leaves the fee account empty without fees", () => {
  const [e] = sampleExecutions({ count: 1, symbols: ["BTC-ETH"] });
  const row = tradeRow(e, "17-3", "fees");
  assert.equal(row.buy_user_id, e.buyerUserId);
  assert.equal(row.sell_user_id, e.sellerUserId);
  assert.equal(row.base_asset, "BTC");
  assert.equal(row.quote_asset, "ETH");
  assert.equal(row.fee_account, null);
  assert.equal(row.stream_id, "17-3");
  assert.equal(row.executed_at, new Date(e.ts).toISOString());
  assert.equal(tradeRow({ ...e, takerFee: "0.01" }, "17-3", "fees").fee_account, "fees");
});

Deno.test("invalidTradeReason() refuses what the ledger's columns cannot hold", () => {
  const [e] = sampleExecutions({ count: 1 });
  assert.equal(invalidTradeReason(e), undefined);
  assert.match(invalidTradeReason({ ...e, price: "123456789012345678901" })!, /numeric\(38,18\)/);
  assert.match(invalidTradeReason({ ...e, qty: "0.0000000000000000001" })!, /numeric\(38,18\)/);
  assert.match(invalidTradeReason({ ...e, qty: "0" })!, /greater than zero/);
  assert.match(invalidTradeReason({ ...e, ts: 253_402_300_800_000 })!, /9999/);
  assert.match(invalidTradeReason({ ...e, tradeId: "a\u0000b" })!, /NUL/);
  assert.match(invalidTradeReason({ ...e, buyOrderId: "\ud800" })!, /surrogate/);
});

Deno.test("streamVersion() sorts like the stream ids it encodes", () => {
  const ids = ["1764000000000-10", "1764000000000-9", "999-0", "1764000000001-0"];
  const byVersion = [...ids].sort((a, b) => streamVersion(a) < streamVersion(b) ? -1 : 1);
  assert.deepEqual(byVersion, ["999-0", "1764000000000-9", "1764000000000-10", "1764000000001-0"]);
  // message ids of packed entries sort by entry, then by position inside it
  const packed = ["1764000000000-9/10", "1764000000000-10", "1764000000000-9/9", "1764000000000-9"];
  const byPackedVersion = [...packed].sort((a, b) => streamVersion(a) < streamVersion(b) ? -1 : 1);
  assert.deepEqual(byPackedVersion, [
    "1764000000000-9",
    "1764000000000-9/9",
    "1764000000000-9/10",
    "1764000000000-10",
  ]);
});

Deno.test("latestPerOrder() keeps the last event of each order in the batch", () => {
  const ack = (orderId: string, status: string) => ({ order: { orderId, status } });
  const batch = [
    { id: "1-0", value: ack("a", "ACCEPTED") },
    { id: "1-1", value: ack("b", "ACCEPTED") },
    { id: "1-2", value: ack("a", "FILLED") },
  ] as unknown as Parameters<typeof latestPerOrder>[0];
  assert.deepEqual(latestPerOrder(batch).map((b) => b.id), ["1-2", "1-1"]);
});
