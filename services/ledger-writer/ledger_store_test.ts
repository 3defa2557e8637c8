import assert from "node:assert/strict";
import type { Sql } from "@lib/db";
import { sampleExecutions } from "@lib/ledger";
import { dbFixture } from "@lib/testing";
import { LedgerStore } from "./ledger_store.ts";

const STREAM = "kt:x:stream:executions";

function entries(flow: ReturnType<typeof sampleExecutions>, base = 1000) {
  return flow.map((value, i) => ({ id: `${base + i}-0`, value }));
}

async function count(sql: Sql): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM trade_ledger`;
  return n;
}

Deno.test("LedgerStore.writeTrades() writes each trade once, however often it comes", async () => {
  await using db = await dbFixture();
  const store = new LedgerStore(db.sql, { consumer: "ledger-writer", feeAccount: "fees" });
  const flow = sampleExecutions({ count: 40, takerFeeBps: 10 });
  const first = entries(flow.slice(0, 20));
  assert.deepEqual(await store.writeTrades(STREAM, first, "1019-0"), {
    inserted: 20,
    conflicts: [],
    rejected: [],
  });
  // the same trades again as new entries (a producer retry), then a redelivery of the first batch
  assert.equal((await store.writeTrades(STREAM, entries(flow.slice(10, 30), 2000), "2019-0")).inserted, 10);
  assert.deepEqual(await store.writeTrades(STREAM, first, "1019-0"), {
    inserted: 0,
    conflicts: [],
    rejected: [],
  });
  // the same trade twice inside one batch
  const d = await store.writeTrades(STREAM, entries([flow[30], flow[31], flow[30]], 3000), "3002-0");
  assert.deepEqual(d, { inserted: 2, conflicts: [], rejected: [] });
  assert.equal(await count(db.sql), 32);
  const [offset] = await db.sql<
    { last_id: string }[]
  >`SELECT last_id FROM consumer_offsets WHERE stream = ${STREAM}`;
  assert.equal(offset.last_id, "3002-0", "the offset only moves forward");
  // an empty batch (nothing wanted in it) still moves the offset
  await store.writeTrades(STREAM, [], "3005-0");
  const [moved] = await db.sql<
    { last_id: string }[]
  >`SELECT last_id FROM consumer_offsets WHERE stream = ${STREAM}`;
  assert.equal(moved.last_id, "3005-0");
});

Deno.test("LedgerStore.writeTrades() reports a reused trade id with other content and refuses unstorable values", async () => {
  await using db = await dbFixture();
  const store = new LedgerStore(db.sql, { consumer: "ledger-writer", feeAccount: "fees" });
  const flow = sampleExecutions({ count: 10 });
  await store.writeTrades(STREAM, entries(flow), "1009-0");
  const reused = { ...flow[3], price: "1.01", seq: 999 };
  const tooBig = { ...sampleExecutions({ count: 1, idPrefix: "B" })[0], price: "123456789012345678901" };
  const fine = sampleExecutions({ count: 2, idPrefix: "C" });
  const twiceDifferent = { ...fine[1], qty: "0.5" };
  const r = await store.writeTrades(
    STREAM,
    entries([reused, tooBig, fine[0], fine[1], twiceDifferent], 5000),
    "5004-0",
  );
  assert.equal(r.inserted, 2);
  assert.deepEqual(r.conflicts.sort(), [fine[1].tradeId, flow[3].tradeId].sort());
  assert.deepEqual(r.rejected.map((x) => x.id), ["5001-0"]);
  assert.match(r.rejected[0].reason, /numeric\(38,18\)/);
  const [{ price }] = await db.sql<{ price: string }[]>`
    SELECT price::text FROM trade_ledger WHERE trade_id = ${flow[3].tradeId}`;
  assert.equal(Number(price), Number(flow[3].price), "the first version stays");
  assert.equal(await count(db.sql), 12);
});
