import assert from "node:assert/strict";
import { sampleExecutions } from "@lib/ledger";
import { copyText, latestPerOrder, streamVersion, TRADE_COLUMNS, tradeCopyLine } from "./rows.ts";

Deno.test("copyText() escapes exactly what COPY's text format treats specially", () => {
  assert.equal(copyText("ord-1"), "ord-1");
  assert.equal(copyText("a\tb\nc\\d\re"), "a\\tb\\nc\\\\d\\re");
});

Deno.test("tradeCopyLine() writes every column, buyer and seller from the execution, NULL fee account without fees", () => {
  const [e] = sampleExecutions({ count: 1, symbols: ["BTC-ETH"] });
  const cols = tradeCopyLine({ ...e, tradeId: "t\t1" }, "17-3", "fees").slice(0, -1).split("\t");
  assert.equal(cols.length, TRADE_COLUMNS.length);
  const row = Object.fromEntries(TRADE_COLUMNS.map((c, i) => [c, cols[i]]));
  assert.equal(row.trade_id, "t\\t1", "the tab inside the id is escaped, not a separator");
  assert.equal(row.buy_user_id, e.buyerUserId);
  assert.equal(row.sell_user_id, e.sellerUserId);
  assert.equal(row.base_asset, "BTC");
  assert.equal(row.quote_asset, "ETH");
  assert.equal(row.fee_account, "\\N");
  assert.equal(row.stream_id, "17-3");
  const withFee = tradeCopyLine({ ...e, takerFee: "0.01" }, "17-3", "fees").split("\t");
  assert.equal(withFee[TRADE_COLUMNS.indexOf("fee_account")], "fees");
});

Deno.test("streamVersion() sorts like the stream ids it encodes", () => {
  const ids = ["1764000000000-10", "1764000000000-9", "999-0", "1764000000001-0"];
  const byVersion = [...ids].sort((a, b) => streamVersion(a) < streamVersion(b) ? -1 : 1);
  assert.deepEqual(byVersion, ["999-0", "1764000000000-9", "1764000000000-10", "1764000000001-0"]);
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
