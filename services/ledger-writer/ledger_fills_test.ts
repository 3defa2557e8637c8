import assert from "node:assert/strict";
import type { Execution } from "@lib/contracts";
import { fillsFromLedger, sampleExecutions } from "@lib/ledger";
import { dbFixture } from "@lib/testing";
import { LedgerStore } from "./ledger_store.ts";

/** Newest first, as the ledger orders fills: time, then trade id (numeric order within one prefix). */
function newestFirst(list: Execution[]): Execution[] {
  const key = (e: Execution) => [e.ts, e.tradeId.length, e.tradeId] as const;
  return [...list].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? 1 : -1;
    return 0;
  });
}

Deno.test("fillsFromLedger() gives back a user's fills as the engine published them, page by page", async () => {
  await using db = await dbFixture();
  const store = new LedgerStore(db.sql, { consumer: "ledger-writer", feeAccount: "fees" });
  const flow = sampleExecutions({
    count: 120,
    symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
    makerFeeBps: 2,
    takerFeeBps: 7,
  });
  await store.writeTrades(
    "kt:x:stream:executions",
    flow.map((value, i) => ({ id: `${1000 + i}-0`, value })),
    "1119-0",
  );

  const alices = newestFirst(flow.filter((e) => e.buyerUserId === "alice" || e.sellerUserId === "alice"));
  assert.ok(alices.length > 30);
  // every field as published: maker and taker rebuilt from the sides, decimals in their shortest form
  const pages: Execution[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await fillsFromLedger(db.sql, "alice", { limit: 7, before });
    assert.ok(page);
    pages.push(...page);
    if (page.length < 7) break;
    before = page[page.length - 1].tradeId;
  }
  assert.deepEqual(pages, alices);

  const eth = await fillsFromLedger(db.sql, "alice", { symbol: "ETH-USD", limit: 1000 });
  assert.deepEqual(eth, alices.filter((e) => e.symbol === "ETH-USD"));
  const afterOne = await fillsFromLedger(db.sql, "alice", {
    symbol: "ETH-USD",
    before: eth![0].tradeId,
    limit: 2,
  });
  assert.deepEqual(afterOne, eth!.slice(1, 3));

  // a whole fill as the cursor: the same pages, with no lookup (it may not be in the ledger yet)
  const notWritten = { ts: alices[9].ts, tradeId: alices[9].tradeId };
  await db.sql`DELETE FROM trade_ledger WHERE trade_id = ${notWritten.tradeId}`;
  assert.deepEqual(
    await fillsFromLedger(db.sql, "alice", { beforeFill: notWritten, limit: 5 }),
    alices.slice(10, 15),
  );

  // a cursor that is not one of the user's fills is refused
  const bobsOnly = flow.find((e) => e.buyerUserId !== "alice" && e.sellerUserId !== "alice")!;
  assert.equal(await fillsFromLedger(db.sql, "alice", { before: bobsOnly.tradeId, limit: 5 }), undefined);
  assert.equal(await fillsFromLedger(db.sql, "alice", { before: "no-such-trade", limit: 5 }), undefined);
});
