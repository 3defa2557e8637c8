import assert from "node:assert/strict";
import { streamKey, STREAMS } from "@lib/contracts";
import { redisFixture } from "@lib/testing";
import { consumerNeed, needOf } from "./consumer_need.ts";

Deno.test("needOf(): what the groups have not been given, or everything from their oldest held entry", () => {
  assert.equal(needOf([]), undefined, "no groups: the cap alone decides");
  assert.equal(
    needOf([
      { name: "ledger", lag: 120, pending: 3, depth: 130 },
      { name: "candles", lag: 4, pending: 0 },
    ]),
    130,
  );
  assert.equal(needOf([{ name: "g", lag: null, pending: 0 }]), "all", "Redis cannot tell the lag");
  assert.equal(needOf([{ name: "g", lag: 0, pending: 2, depth: 2, stale: true }]), "all", "held for long");
  assert.equal(needOf([{ name: "g", lag: 0, pending: 1 }]), "all", "held deeper than is counted");
});

Deno.test("consumerNeed() counts back to an entry one consumer holds while another acknowledged the rest", async () => {
  await using fx = await redisFixture("need");
  const key = streamKey(fx.prefix, STREAMS.wallet);
  for (let i = 0; i < 40; i++) await fx.redis.xAdd(key, "*", { type: "x", payload: String(i) });
  await fx.redis.xGroupCreate(key, "ledger", "0");
  await fx.redis.xReadGroup("ledger", "a", { key, id: ">" }, { COUNT: 1 }); // a holds the first
  const rest = await fx.redis.xReadGroup("ledger", "b", { key, id: ">" }, { COUNT: 100 });
  await fx.redis.xAck(key, "ledger", rest![0].messages.map((m) => m.id));
  assert.equal(await consumerNeed(fx.redis, key), 40, "all 40, not lag 0 + 1 held");
  for (let i = 0; i < 300; i++) await fx.redis.xAdd(key, "*", { type: "x", payload: String(i) });
  await fx.redis.xReadGroup("ledger", "b", { key, id: ">" }, { COUNT: 1000 });
  assert.equal(await consumerNeed(fx.redis, key), "all", "held deeper than is counted");
  assert.equal(await consumerNeed(fx.redis, streamKey(fx.prefix, STREAMS.book)), undefined, "no stream");
});

Deno.test("consumerNeed(): a batch acknowledged between the group read and the pending read is not held", async () => {
  await using fx = await redisFixture("need");
  const key = streamKey(fx.prefix, STREAMS.wallet);
  for (let i = 0; i < 10; i++) await fx.redis.xAdd(key, "*", { type: "x", payload: String(i) });
  await fx.redis.xGroupCreate(key, "ledger", "0");
  const read = await fx.redis.xReadGroup("ledger", "a", { key, id: ">" }, { COUNT: 6 });
  const ids = read![0].messages.map((m) => m.id);
  // the consumer acknowledges its batch right after the engine read the groups (pending 6, lag 4)
  const racing = new Proxy(fx.redis, {
    get(target, prop, receiver) {
      if (prop === "xPending") {
        return async (k: string, g: string) => {
          await target.xAck(k, g, ids);
          return target.xPending(k, g);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  assert.equal(await consumerNeed(racing, key), 4, "the undelivered 4, not everything");
});
