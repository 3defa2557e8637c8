import assert from "node:assert/strict";
import { freePort, redisFixture, startPrivateRedis, stopPrivateRedis } from "@lib/testing";
import { connectRedis, RespStreamReader } from "./mod.ts";

Deno.test("RespStreamReader reads entries after an id, as node-redis does, and [] on a timeout", async () => {
  await using fx = await redisFixture("resp-reader");
  const key = `${fx.prefix}:stream:x`;
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(await fx.redis.xAdd(key, "*", { type: "t", payload: `{"n":${i},"text":"prix ${i} € ✓"}` }));
  }
  using reader = new RespStreamReader(fx.url);
  const firstTwo = await reader.read(key, "0-0", 2, 100);
  assert.deepEqual(firstTwo, [
    { id: ids[0], message: { type: "t", payload: '{"n":0,"text":"prix 0 € ✓"}' } },
    { id: ids[1], message: { type: "t", payload: '{"n":1,"text":"prix 1 € ✓"}' } },
  ]);
  const viaNodeRedis = await fx.redis.xRead({ key, id: ids[1] }, { COUNT: 10 });
  assert.deepEqual(await reader.read(key, ids[1], 10, 100), viaNodeRedis?.[0]?.messages);
  const t0 = performance.now();
  assert.deepEqual(await reader.read(key, ids[4], 10, 100), []);
  assert.ok(performance.now() - t0 >= 90, "it blocked for the timeout");
  assert.deepEqual(await reader.read(`${fx.prefix}:stream:none`, "0-0", 10, 50), []);
});

Deno.test("RespStreamReader reads a reply far larger than its buffer, arriving in pieces", async () => {
  await using fx = await redisFixture("resp-reader");
  const key = `${fx.prefix}:stream:big`;
  const payload = (i: number) => `${i}:` + "é".repeat(1500);
  const multi = fx.redis.multi();
  for (let i = 0; i < 1500; i++) multi.xAdd(key, "*", { payload: payload(i) });
  await multi.exec();
  using reader = new RespStreamReader(fx.url);
  const all = await reader.read(key, "0-0", 2000, 100);
  assert.equal(all.length, 1500);
  all.forEach((e, i) => assert.equal(e.message.payload, payload(i)));
});

Deno.test("RespStreamReader reports a refused read and carries on, and reconnects after Redis restarts", async () => {
  await using fx = await redisFixture("resp-reader");
  await fx.redis.set(`${fx.prefix}:plain`, "not a stream");
  using reader = new RespStreamReader(fx.url);
  await assert.rejects(() => reader.read(`${fx.prefix}:plain`, "0-0", 1, 10), /WRONGTYPE/);
  await fx.redis.xAdd(`${fx.prefix}:stream:y`, "*", { a: "1" });
  assert.equal((await reader.read(`${fx.prefix}:stream:y`, "0-0", 1, 10)).length, 1);

  // a private server, stopped and started again under the reader
  const port = freePort();
  let server = await startPrivateRedis(port);
  using own = new RespStreamReader(`redis://127.0.0.1:${port}`);
  try {
    const writer = await connectRedis(`redis://127.0.0.1:${port}`, { reconnect: false });
    await writer.xAdd("s", "*", { n: "1" });
    await writer.close();
    assert.equal((await own.read("s", "0-0", 10, 10)).length, 1);
    await stopPrivateRedis(server);
    await assert.rejects(() => own.read("s", "0-0", 10, 10));
    server = await startPrivateRedis(port);
    // no persistence: the restarted server is empty, and the reader works again
    assert.deepEqual(await own.read("s", "0-0", 10, 10), []);
  } finally {
    await stopPrivateRedis(server);
  }
});

Deno.test("RespStreamReader selects the database the URL names", async () => {
  await using fx = await redisFixture("resp-reader");
  const url = `${fx.url.replace(/\/\d*$/, "")}/7`;
  const other = await connectRedis(url, { reconnect: false });
  const key = `${fx.prefix}:stream:db7`;
  try {
    await other.xAdd(key, "*", { a: "1" });
    using inSeven = new RespStreamReader(url);
    assert.equal((await inSeven.read(key, "0-0", 10, 10)).length, 1);
    using inDefault = new RespStreamReader(fx.url);
    assert.deepEqual(await inDefault.read(key, "0-0", 10, 10), []);
  } finally {
    await other.del(key);
    await other.close();
  }
});
