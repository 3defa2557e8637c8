import assert from "node:assert/strict";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { consumeGroup, publishBatch } from "@lib/redis";
import { redisFixture } from "@lib/testing";
import { execution, jsonLines, tools } from "../test_util.ts";
import { engineLag } from "./streams.ts";

Deno.test("streams lists every stream with its length, groups with pending and lag, and the engine lag", async () => {
  await using fx = await redisFixture("streams");
  const execKey = streamKey(fx.prefix, STREAMS.executions);
  await publishBatch(
    fx.redis,
    fx.prefix,
    STREAMS.executions,
    [1, 2, 3].map((i) => execution({ tradeId: `t-${i}`, seq: i })),
  );
  // a group that read one entry and did not acknowledge it
  await fx.redis.xGroupCreate(execKey, "ledger-writer", "0");
  await fx.redis.xReadGroup("ledger-writer", "lw-1", { key: execKey, id: ">" }, { COUNT: 1 });
  const orders = streamKey(fx.prefix, STREAMS.orders);
  const c1 = await fx.redis.xAdd(orders, "*", {
    type: "openAccount",
    payload: '{"type":"openAccount","cmdId":"a","userId":"u"}',
  });
  await fx.redis.xAdd(orders, "*", {
    type: "openAccount",
    payload: '{"type":"openAccount","cmdId":"b","userId":"u"}',
  });
  await fx.redis.set(keys.checkpoint(fx.prefix), c1);
  await fx.redis.xAdd(`${orders}:dead`, "*", { reason: "r", source: "s", originalId: "1-0", original: "{}" });
  // the engine counts the messages its packed entries carried
  await fx.redis.hSet(keys.messagesAdded(fx.prefix), "executions", "12");

  const r = await tools(["streams"], { prefix: fx.prefix });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^STREAM +LENGTH +MESSAGES +FIRST +LAST +GROUPS\n/);
  assert.match(r.stdout, /\nexecutions +3 +12 +\d+-\d+ .* +1\n/);
  assert.match(r.stdout, /\norders +2 +2 /);
  assert.match(r.stdout, /\norders:dead +1 /);
  assert.match(r.stdout, /\nexecutions +ledger-writer +1 +1 +2 +\d+-\d+\n/);
  assert.match(r.stdout, new RegExp(`engine checkpoint ${c1}: 1 commands behind`));

  const json = jsonLines((await tools(["streams", "--json"], { prefix: fx.prefix })).stdout);
  const exec = json.find((x) => x.stream === "executions")!;
  assert.equal(exec.length, 3);
  assert.equal(exec.messagesAdded, 12);
  assert.deepEqual((exec.groups as Record<string, unknown>[])[0], {
    name: "ledger-writer",
    consumers: 1,
    pending: 1,
    lastDeliveredId: exec.firstId as string,
    entriesRead: 1,
    lag: 2,
  });
  const engine = json.find((x) => x.kind === "engine")!;
  assert.equal(engine.checkpoint, c1);
  assert.equal(engine.behind, 1);
});

Deno.test("engineLag() counts every command as waiting before the first checkpoint", async () => {
  await using fx = await redisFixture("streams");
  const orders = streamKey(fx.prefix, STREAMS.orders);
  for (let i = 0; i < 3; i++) await fx.redis.xAdd(orders, "*", { type: "x", payload: "{}" });
  const lag = await engineLag(fx.redis, fx.prefix);
  assert.equal(lag.checkpoint, null);
  assert.equal(lag.behind, 3);
  const text = await tools(["streams"], { prefix: fx.prefix });
  assert.match(text.stdout, /engine: no checkpoint yet; 3 commands waiting/);
});

Deno.test("streams shows groups that consumeGroup created and acknowledged", async () => {
  await using fx = await redisFixture("streams");
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, [execution()]);
  const controller = new AbortController();
  const reader = fx.redis.duplicate();
  await reader.connect();
  try {
    await consumeGroup(reader, fx.prefix, STREAMS.executions, {
      group: "candles",
      consumer: "c-1",
      signal: controller.signal,
      blockMs: 50,
      handle: () => {
        controller.abort();
        return Promise.resolve();
      },
    });
  } finally {
    await reader.close();
  }
  const json = jsonLines((await tools(["streams", "--json"], { prefix: fx.prefix })).stdout);
  const g = (json.find((x) => x.stream === "executions")!.groups as Record<string, unknown>[])[0];
  assert.equal(g.name, "candles");
  assert.equal(g.pending, 0);
  assert.equal(g.lag, 0);
});

Deno.test("streams under a prefix that holds none names the prefix it looked under", async () => {
  await using fx = await redisFixture("streams-none");
  const r = await tools(["streams"], { prefix: `${fx.prefix}-empty` });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`no streams under the prefix ${fx.prefix}-empty yet \\(another one: --prefix`),
  );
});
