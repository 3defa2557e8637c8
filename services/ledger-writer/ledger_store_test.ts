import assert from "node:assert/strict";
import { CopyWriter, type Sql } from "@lib/db";
import type { OrderAck, OrderEvent } from "@lib/contracts";
import { sampleExecutions } from "@lib/ledger";
import { dbFixture } from "@lib/testing";
import { LedgerStore } from "./ledger_store.ts";
import { sampleAck } from "./testing.ts";

const STREAM = "kt:x:stream:executions";

function entries(flow: ReturnType<typeof sampleExecutions>, base = 1000) {
  return flow.map((value, i) => ({ id: `${base + i}-0`, value }));
}

async function count(sql: Sql): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM trade_ledger`;
  return n;
}

// each test runs twice: trades by COPY (as the service writes them) and by the INSERT statement alone
for (const mode of ["copy", "insert"] as const) {
  const storeFor = (db: { sql: Sql; url: string }) => {
    const copy = mode === "copy" ? new CopyWriter(db.url) : undefined;
    return {
      store: new LedgerStore(db.sql, { consumer: "ledger-writer", feeAccount: "fees", copy }),
      [Symbol.asyncDispose]: async () => await copy?.close(),
    };
  };
  /** How a batch of trades none of which is stored yet goes in, and one holding a stored trade. */
  const fresh = mode;
  const redelivered = mode === "copy" ? "insert-after-copy" : "insert";

  Deno.test(`LedgerStore.writeTrades() writes each trade once, however often it comes (${mode})`, async () => {
    await using db = await dbFixture();
    await using s = storeFor(db);
    const store = s.store;
    const flow = sampleExecutions({ count: 40, takerFeeBps: 10 });
    const first = entries(flow.slice(0, 20));
    assert.deepEqual(await store.writeTrades(STREAM, first, "1019-0"), {
      inserted: 20,
      conflicts: [],
      rejected: [],
      via: fresh,
    });
    // the same trades again as new entries (a producer retry), then a redelivery of the first batch:
    // COPY refuses both, and the statement writes only what is new
    const again = await store.writeTrades(STREAM, entries(flow.slice(10, 30), 2000), "2019-0");
    assert.deepEqual([again.inserted, again.via], [10, redelivered]);
    assert.deepEqual(await store.writeTrades(STREAM, first, "1019-0"), {
      inserted: 0,
      conflicts: [],
      rejected: [],
      via: redelivered,
    });
    // the same trade twice inside one batch
    const d = await store.writeTrades(STREAM, entries([flow[30], flow[31], flow[30]], 3000), "3002-0");
    assert.deepEqual(d, { inserted: 2, conflicts: [], rejected: [], via: fresh });
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
  Deno.test(`LedgerStore.writeTrades() reports a reused trade id with other content and refuses unstorable values (${mode})`, async () => {
    await using db = await dbFixture();
    await using s = storeFor(db);
    const store = s.store;
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
}

for (const mode of ["copy", "insert"] as const) {
  Deno.test(`LedgerStore.writeOrderEvents() keeps every event once, with its order as published (${mode})`, async () => {
    await using db = await dbFixture();
    const copy = mode === "copy" ? new CopyWriter(db.url) : undefined;
    try {
      const store = new LedgerStore(db.sql, { consumer: "ledger-writer", feeAccount: "fees", copy });
      const order = (status: OrderAck["status"], filled: string, ts: number): OrderAck => ({
        ...sampleAck("o-1", status, filled, ts),
        clientOrderId: 'odd\t"id"\\',
      });
      const ev = (event: OrderEvent["event"], o: OrderAck): OrderEvent => ({ event, order: o, ts: o.ts });
      const first = [
        { id: "1000-0", value: ev("NEW", order("ACCEPTED", "0", 1_764_118_000_000)) },
        { id: "1001-0/0", value: ev("TRADE", order("PARTIALLY_FILLED", "0.5", 1_764_118_000_001)) },
      ];
      assert.deepEqual(await store.writeOrderEvents(STREAM, first, "1001-0"), { inserted: 2, via: mode });
      // a redelivery with one new event: COPY refuses it, the statement adds only the new one
      const again = [...first, { id: "1002-0", value: ev("TRADE", order("FILLED", "1", 1_764_118_000_002)) }];
      assert.deepEqual(await store.writeOrderEvents(STREAM, again, "1002-0"), {
        inserted: 1,
        via: mode === "copy" ? "insert-after-copy" : "insert",
      });
      // an older event delivered late does not move the order back
      assert.deepEqual(await store.writeOrderEvents(STREAM, first.slice(0, 1), "1002-0"), {
        inserted: 0,
        via: mode === "copy" ? "insert-after-copy" : "insert",
      });
      const [o] = await db.sql<{ status: string; client_order_id: string }[]>`
        SELECT status, client_order_id FROM orders WHERE order_id = 'o-1'`;
      assert.deepEqual({ ...o }, { status: "FILLED", client_order_id: 'odd\t"id"\\' });
      const bodies = await db.sql<{ body: unknown }[]>`SELECT body FROM order_events ORDER BY stream_id`;
      assert.deepEqual(
        bodies.map((b) => typeof b.body === "string" ? JSON.parse(b.body) : b.body),
        again.map((e) => JSON.parse(JSON.stringify(e.value.order))),
        "each event's order is stored as published",
      );
    } finally {
      await copy?.close();
    }
  });
}
