import assert from "node:assert/strict";
import {
  backendCpuSince,
  databaseBackendCpu,
  dbFixture,
  processCpuSeconds,
  redisFixture,
  redisServerCpuSeconds,
} from "./mod.ts";

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

Deno.test("processCpuSeconds() and redisServerCpuSeconds() read the CPU time used so far", async () => {
  const own = await processCpuSeconds(Deno.pid);
  assert.ok(own !== undefined && own >= 0);
  assert.equal(await processCpuSeconds(Deno.pid, "no-such-command"), undefined);
  assert.equal(await processCpuSeconds(2 ** 30), undefined, "no such process");
  await using fx = await redisFixture("cpu");
  assert.ok(await redisServerCpuSeconds(fx.redis) > 0);
});

Deno.test("backendCpuSince() adds each backend's increase; a new backend counts from zero", () => {
  const before = new Map([[1, 2.0], [2, 5.0], [3, 1.0]]);
  const after = new Map([[1, 2.5], [2, 5.25], [4, 0.5]]);
  assert.equal(backendCpuSince(before, after), 0.5 + 0.25 + 0.5);
  assert.equal(backendCpuSince(new Map(), new Map()), 0);
});

Deno.test("databaseBackendCpu() reads only the backends of the given database", async () => {
  await using a = await dbFixture();
  await using b = await dbFixture();
  await a.sql`SELECT 1`;
  await b.sql`SELECT 1`;
  const [pidA] = await a.sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  const [pidB] = await b.sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  const cpu = await databaseBackendCpu(a.sql, a.name);
  // when PostgreSQL runs on another machine there is nothing to read
  if ((await processCpuSeconds(pidA.pid)) === undefined) return;
  assert.ok(cpu.has(pidA.pid), "a backend of the database");
  assert.ok(!cpu.has(pidB.pid), "not a backend of another database");
});
