import assert from "node:assert/strict";
import { streamKey, STREAMS, type Tick } from "@lib/contracts";
import { connectRedis, publish, type RedisClient } from "@lib/redis";
import { redisFixture } from "@lib/testing";
import { runGroupReader } from "./group_reader.ts";

const tick = (price: string): Tick => ({ symbol: "BTC-USD", price, delta: "0", volume: "1", ts: 1 });

/** What every reader of these tests shares: group "ledger", consumer "c1", short retries. */
function readerOptions(fx: { redis: RedisClient; prefix: string }, reader: RedisClient, signal: AbortSignal) {
  return {
    reader,
    redis: fx.redis,
    prefix: fx.prefix,
    group: "ledger",
    consumer: "c1",
    count: 100,
    signal,
    retry: { initialMs: 10, maxMs: 50 },
  };
}

/** Batch sizes the reader writes while 6 ticks arrive 20 ms apart, after a first one. */
async function batchesOfTrickle(lingerMs: number): Promise<number[]> {
  await using fx = await redisFixture("ledger-linger");
  await publish(fx.redis, fx.prefix, STREAMS.ticks, tick("0"));
  const reader = await connectRedis(fx.url);
  const stop = new AbortController();
  const sizes: number[] = [];
  let first!: () => void;
  const firstSeen = new Promise<void>((r) => first = r);
  const loop = runGroupReader(STREAMS.ticks, {
    ...readerOptions(fx, reader, stop.signal),
    blockMs: 100,
    lingerMs,
    write: (batch) => {
      sizes.push(batch.length);
      first();
      if (sizes.reduce((a, b) => a + b, 0) >= 7) stop.abort();
      return Promise.resolve();
    },
  });
  await firstSeen;
  for (let i = 1; i <= 6; i++) {
    await publish(fx.redis, fx.prefix, STREAMS.ticks, tick(String(i)));
    await new Promise((r) => setTimeout(r, 20));
  }
  const timer = setTimeout(() => stop.abort(), 5000);
  await loop;
  clearTimeout(timer);
  await reader.close();
  return sizes;
}

Deno.test("group reader: with lingerMs a trickle of entries is written in fewer, larger batches", async () => {
  const eager = await batchesOfTrickle(0);
  assert.ok(eager.length >= 4, `batches without linger: ${eager}`);
  // the read after the first asks for one entry (to learn the entry size), so it is never short
  const lingering = await batchesOfTrickle(400);
  assert.ok(lingering.length <= 3 && lingering.at(-1)! >= 5, `batches with linger: ${lingering}`);
});

Deno.test("group reader: a failing read is reported as a read, and its recovery clears it", async () => {
  await using fx = await redisFixture("ledger-read-retry");
  await publish(fx.redis, fx.prefix, STREAMS.ticks, tick("1"));
  const reader = await connectRedis(fx.url);
  const stop = new AbortController();
  const events: string[] = [];
  let written = 0;
  const loop = runGroupReader(STREAMS.ticks, {
    ...readerOptions(fx, reader, stop.signal),
    blockMs: 50,
    onRetry: (_e, attempt, _delay, what) => events.push(`${what} failed ${attempt}`),
    onRecovered: (attempts) => events.push(`recovered after ${attempts}`),
    write: async (batch) => {
      written += batch.length;
      if (written === 1) {
        // the group vanishes (as when Redis lost its data): the next read fails with NOGROUP
        await fx.redis.xGroupDestroy(streamKey(fx.prefix, STREAMS.ticks), "ledger");
      } else stop.abort();
    },
  });
  await new Promise((r) => setTimeout(r, 200));
  await publish(fx.redis, fx.prefix, STREAMS.ticks, tick("2"));
  const timer = setTimeout(() => stop.abort(), 5000);
  await loop;
  clearTimeout(timer);
  await reader.close();
  assert.deepEqual(events.slice(0, 2), ["read failed 1", "recovered after 1"]);
});

Deno.test("group reader: entries a gone consumer left unacknowledged are taken over and written", async () => {
  await using fx = await redisFixture("ledger-claim");
  const key = streamKey(fx.prefix, STREAMS.ticks);
  for (const p of ["1", "2", "3"]) await publish(fx.redis, fx.prefix, STREAMS.ticks, tick(p));
  await fx.redis.xGroupCreate(key, "ledger", "0");
  await fx.redis.xReadGroup("ledger", "gone", { key, id: ">" }, { COUNT: 2 }); // then it crashed
  await new Promise((r) => setTimeout(r, 60));
  const reader = await connectRedis(fx.url);
  const stop = new AbortController();
  const written: string[] = [];
  let claimed = 0;
  const timer = setTimeout(() => stop.abort(), 5000);
  await runGroupReader(STREAMS.ticks, {
    ...readerOptions(fx, reader, stop.signal),
    blockMs: 100,
    claimIdleMs: 50,
    onClaimed: (n) => claimed += n,
    write: (batch) => {
      written.push(...batch.map((b) => b.value.price));
      if (written.length >= 3) stop.abort();
      return Promise.resolve();
    },
  });
  clearTimeout(timer);
  await reader.close();
  assert.equal(claimed, 2);
  assert.deepEqual(written.sort(), ["1", "2", "3"]);
});
