import assert from "node:assert/strict";
import { sampleExecutions } from "@lib/ledger";
import type { Sql } from "@lib/db";
import { dbFixture } from "@lib/testing";
import { LedgerStore } from "./ledger_store.ts";

const STREAM = "kt:x:stream:executions";

function entries(flow: ReturnType<typeof sampleExecutions>, base = 1000) {
  return flow.map((value, i) => ({ id: `${base + i}-0`, value }));
}

async function count(sql: Sql) {
  const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM trade_ledger`;
  return n;
}

Deno.test("LedgerStore.writeTrades() copies fresh batches and merges anything that may be there already", async () => {
  await using db = await dbFixture();
  const store = new LedgerStore(db.sql, {
    consumer: "ledger-writer",
    feeAccount: "fees",
    copyTimeoutMs: 5000,
  });
  const flow = sampleExecutions({ count: 40, takerFeeBps: 10 });
  const first = entries(flow.slice(0, 20));
  assert.deepEqual(await store.writeTrades(STREAM, first, "1019-0", { fresh: true }), {
    path: "copy",
    inserted: 20,
    conflicts: [],
    rejected: [],
  });
  // the same trades again as new entries (a producer retry): the check sends them to the merge path
  const again = await store.writeTrades(STREAM, entries(flow.slice(10, 30), 2000), "2019-0", { fresh: true });
  assert.deepEqual([again.path, again.inserted, again.conflicts], ["merge", 10, []]);
  // a redelivery (not fresh) merges too
  const redelivered = await store.writeTrades(STREAM, first, "1019-0", { fresh: false });
  assert.deepEqual([redelivered.path, redelivered.inserted], ["merge", 0]);
  // a duplicate inside one fresh batch
  const dup = entries([flow[30], flow[31], flow[30]], 3000);
  const d = await store.writeTrades(STREAM, dup, "3002-0", { fresh: true });
  assert.deepEqual([d.path, d.inserted], ["merge", 2]);
  assert.equal(await count(db.sql), 32);
  const [offset] = await db.sql<
    { last_id: string }[]
  >`SELECT last_id FROM consumer_offsets WHERE stream = ${STREAM}`;
  assert.equal(offset.last_id, "3002-0", "the offset only moves forward");
});

Deno.test("LedgerStore.writeTrades() reports a reused trade id with other content and refuses unstorable values", async () => {
  await using db = await dbFixture();
  const store = new LedgerStore(db.sql, {
    consumer: "ledger-writer",
    feeAccount: "fees",
    copyTimeoutMs: 5000,
  });
  const flow = sampleExecutions({ count: 10 });
  await store.writeTrades(STREAM, entries(flow), "1009-0", { fresh: true });
  const reused = { ...flow[3], price: "1.01", seq: 999 };
  const tooBig = { ...sampleExecutions({ count: 1, idPrefix: "B" })[0], price: "123456789012345678901" };
  const fine = sampleExecutions({ count: 1, idPrefix: "C" })[0];
  const r = await store.writeTrades(STREAM, entries([reused, tooBig, fine], 5000), "5002-0", { fresh: true });
  assert.equal(r.path, "merge");
  assert.equal(r.inserted, 1);
  assert.deepEqual(r.conflicts, [flow[3].tradeId]);
  assert.deepEqual(r.rejected.map((x) => x.id), ["5001-0"]);
  assert.match(r.rejected[0].reason, /numeric\(38,18\)/);
  const [{ price }] = await db.sql<{ price: string }[]>`
    SELECT price::text FROM trade_ledger WHERE trade_id = ${flow[3].tradeId}`;
  assert.equal(Number(price), Number(flow[3].price), "the first version stays");
  assert.equal(await count(db.sql), 11);
});
