import assert from "node:assert/strict";
import { connectRedis } from "@lib/redis";
import { deletePrefix, redisFixture } from "@lib/testing";
import { RespBatchConnection, RespEncoder, TransactionError } from "./resp_batch.ts";

Deno.test("RespBatchConnection.exec() runs a transaction and reports errors and the last reply", async () => {
  await using fx = await redisFixture("resp");
  using conn = await RespBatchConnection.connect(fx.url);
  const k = `${fx.prefix}:k`;
  const r = await conn.exec([["SET", k, "1"], ["LPUSH", k, "x"], ["SET", `${fx.prefix}:c`, "2", "GET"]]);
  assert.deepEqual(r.errors.map((e) => e.index), [1]);
  assert.match(r.errors[0].message, /WRONGTYPE/);
  assert.equal(r.last, null);
  const again = await conn.exec([["SET", `${fx.prefix}:c`, "3", "GET"]]);
  assert.deepEqual(again, { errors: [], last: "2" });
  assert.equal(await fx.redis.get(k), "1");
});

Deno.test("RespBatchConnection.exec() refuses a transaction Redis refused, and stays usable", async () => {
  await using fx = await redisFixture("resp");
  using conn = await RespBatchConnection.connect(fx.url);
  await assert.rejects(
    () => conn.exec([["SET", `${fx.prefix}:a`, "1"], ["NOSUCHCOMMAND"]]),
    TransactionError,
  );
  assert.equal(await fx.redis.exists(`${fx.prefix}:a`), 0);
  assert.deepEqual(await conn.exec([["SET", `${fx.prefix}:a`, "1", "GET"]]), { errors: [], last: null });
});

Deno.test("RespBatchConnection.exec() carries large batches and any text byte-exact", async () => {
  await using fx = await redisFixture("resp");
  using conn = await RespBatchConnection.connect(fx.url);
  const key = `${fx.prefix}:s`;
  const texts = Array.from(
    { length: 20_000 },
    (_, i) => `${i}:${"é€😀\r\n".repeat(i % 7)}${"x".repeat(i % 300)}`,
  );
  const r = await conn.exec([
    ...texts.map((t) => ["XADD", key, "*", "payload", t]),
    ["SET", `${fx.prefix}:last`, "done", "GET"],
  ]);
  assert.deepEqual(r, { errors: [], last: null });
  const stored = (await fx.redis.xRange(key, "-", "+")) ?? [];
  assert.equal(stored.length, texts.length);
  assert.deepEqual(stored.map((e) => e.message.payload), texts);
});

Deno.test("RespBatchConnection.connect() selects the database the URL names", async () => {
  await using fx = await redisFixture("resp");
  const url = `${fx.url.replace(/\/\d*$/, "")}/3`;
  using conn = await RespBatchConnection.connect(url);
  await conn.exec([["SET", `${fx.prefix}:db`, "3"]]);
  assert.equal(await fx.redis.exists(`${fx.prefix}:db`), 0);
  const db3 = await connectRedis(url);
  try {
    assert.equal(await db3.get(`${fx.prefix}:db`), "3");
  } finally {
    await deletePrefix(db3, fx.prefix);
    await db3.close();
  }
});

Deno.test("RespEncoder writes byte lengths of any text, short or long, ASCII or not", () => {
  const te = new TextEncoder();
  const reference = (args: string[]) => {
    let parts = `*${args.length}\r\n`;
    for (const a of args) parts += `$${te.encode(a).length}\r\n${a}\r\n`;
    return te.encode(parts);
  };
  const enc = new RespEncoder();
  const commands: string[][] = [];
  for (let i = 0; i < 400; i++) {
    // lengths around digit-count boundaries, with a non-ASCII char at the start, the end or nowhere
    const n = [1, 8, 9, 10, 63, 64, 65, 99, 100, 999, 1000][i % 11]!;
    const body = "a".repeat(n);
    const variant = i % 4;
    const text = variant === 0
      ? body
      : variant === 1
      ? `é${body}`
      : variant === 2
      ? `${body}😀`
      : `€${body}\u00ff`;
    commands.push(["XADD", `k${i}`, "*", "payload", text, ""]);
  }
  for (const c of commands) enc.command(c);
  const expected = commands.map(reference);
  const all = new Uint8Array(expected.reduce((n, e) => n + e.length, 0));
  let o = 0;
  for (const e of expected) {
    all.set(e, o);
    o += e.length;
  }
  assert.deepEqual(enc.bytes, all);
});
