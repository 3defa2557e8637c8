import assert from "node:assert/strict";
import { dbFixture, redisFixture } from "./mod.ts";

Deno.test("dbFixture() gives a migrated database of its own", async () => {
  await using db = await dbFixture();
  const tables = await db.sql`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
  const names = tables.map((t) => t.tablename);
  for (const t of ["users", "trade_ledger", "orders", "consumer_offsets", "balance_postings"]) {
    assert.ok(names.includes(t), t);
  }
});

Deno.test("redisFixture() isolates keys by prefix and cleans up", async () => {
  let prefix = "";
  {
    await using r = await redisFixture("fx");
    prefix = r.prefix;
    await r.redis.set(`${r.prefix}:a`, "1");
    assert.equal(await r.redis.get(`${r.prefix}:a`), "1");
  }
  await using r2 = await redisFixture("fx2");
  assert.equal(await r2.redis.exists(`${prefix}:a`), 0);
});
