import assert from "node:assert/strict";
import { streamKey, STREAMS, type Tick } from "@lib/contracts";
import { redisFixture } from "@lib/testing";
import {
  BATCH_TYPE,
  batchLine,
  compareStreamIds,
  connectRedis,
  consumeGroup,
  type ConsumeOptions,
  decodeEntry,
  EntryCount,
  expandEntries,
  followStream,
  followStreams,
  messageId,
  publish,
  publishBatch,
  readRange,
} from "./mod.ts";

/** Runs consumeGroup over the ticks stream (group g, consumer c1) until `n` prices were handled. */
async function consumePrices(
  fx: { url: string; prefix: string },
  n: number,
  extra: Partial<ConsumeOptions<Tick>> = {},
): Promise<string[]> {
  const reader = await connectRedis(fx.url);
  const stop = new AbortController();
  const seen: string[] = [];
  const timer = setTimeout(() => stop.abort(), 5000);
  await consumeGroup(reader, fx.prefix, STREAMS.ticks, {
    ...extra,
    group: "g",
    consumer: "c1",
    signal: stop.signal,
    blockMs: 100,
    handle: (batch) => {
      for (const b of batch) seen.push(b.value.price);
      if (seen.length >= n) stop.abort();
      return Promise.resolve();
    },
  });
  clearTimeout(timer);
  await reader.close();
  return seen;
}

const tick = (price: string, ts = 1): Tick => ({ symbol: "BTC-USD", price, delta: "0", volume: "1", ts });

Deno.test("publishBatch() writes a batch in order with type and payload fields", async () => {
  await using fx = await redisFixture("pub");
  const ids = await publishBatch(fx.redis, fx.prefix, STREAMS.ticks, [tick("1"), tick("2"), tick("3")]);
  assert.equal(ids.length, 3);
  const entries = await readRange(fx.redis, streamKey(fx.prefix, STREAMS.ticks));
  assert.deepEqual(entries.map((e) => e.id), ids);
  assert.equal(entries[0].message.type, "tick");
  const d = decodeEntry(STREAMS.ticks, entries[2]);
  assert.ok(d.ok && d.value.price === "3");
});

Deno.test("publish() refuses a message that breaks the contract", async () => {
  await using fx = await redisFixture("pub");
  await assert.rejects(() => publish(fx.redis, fx.prefix, STREAMS.ticks, { ...tick("1"), price: "-5" }));
  assert.equal(await fx.redis.exists(streamKey(fx.prefix, STREAMS.ticks)), 0);
});

Deno.test("consumeGroup() acks after the handler, dead-letters bad entries, and retries failures", async () => {
  await using fx = await redisFixture("grp");
  const key = streamKey(fx.prefix, STREAMS.ticks);
  await publish(fx.redis, fx.prefix, STREAMS.ticks, tick("1"));
  await fx.redis.xAdd(key, "*", { type: "tick", payload: "{not json" });
  await fx.redis.xAdd(key, "*", { type: "tick", payload: JSON.stringify({ symbol: "btc" }) });
  await publish(fx.redis, fx.prefix, STREAMS.ticks, tick("2"));

  const reader = await connectRedis(fx.url);
  const stop = new AbortController();
  const seen: string[] = [];
  let failOnce = true;
  const loop = consumeGroup(reader, fx.prefix, STREAMS.ticks, {
    group: "g",
    consumer: "c1",
    signal: stop.signal,
    blockMs: 100,
    retryMs: 20,
    handle: async (batch) => {
      if (failOnce) {
        failOnce = false;
        throw new Error("store down");
      }
      for (const b of batch) seen.push(b.value.price);
      await Promise.resolve();
    },
  });
  const deadline = Date.now() + 5000;
  while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  stop.abort();
  await loop;
  await reader.close();
  assert.deepEqual(seen, ["1", "2"]);
  const pending = await fx.redis.xPending(key, "g");
  assert.equal(pending.pending, 0);
  const dead = await readRange(fx.redis, `${key}:dead`);
  assert.equal(dead.length, 2);
  assert.match(dead[0].message.reason, /not JSON/);
  assert.match(dead[1].message.reason, /does not match the ticks contract: symbol/);
});

Deno.test("consumeGroup() first finishes its own pending entries after a crash", async () => {
  await using fx = await redisFixture("grp");
  const key = streamKey(fx.prefix, STREAMS.ticks);
  await publishBatch(fx.redis, fx.prefix, STREAMS.ticks, [tick("1"), tick("2")]);
  await fx.redis.xGroupCreate(key, "g", "0");
  await fx.redis.xReadGroup("g", "c1", { key, id: ">" }, { COUNT: 10 }); // delivered, never acked: a crash
  const seen = await consumePrices(fx, 2);
  assert.deepEqual(seen, ["1", "2"]);
  assert.equal((await fx.redis.xPending(key, "g")).pending, 0);
});

Deno.test("followStream() yields entries after an id, in order, and new ones live", async () => {
  await using fx = await redisFixture("follow");
  const key = streamKey(fx.prefix, STREAMS.ticks);
  const [first] = await publishBatch(fx.redis, fx.prefix, STREAMS.ticks, [tick("1"), tick("2")]);
  const reader = await connectRedis(fx.url);
  const stop = new AbortController();
  const got: string[] = [];
  const done = (async () => {
    for await (
      const batch of followStream(reader, key, { fromId: first, signal: stop.signal, blockMs: 100 })
    ) {
      for (const e of batch) got.push(JSON.parse(e.message.payload).price);
      if (got.length >= 2) stop.abort();
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  await publish(fx.redis, fx.prefix, STREAMS.ticks, tick("3"));
  await done;
  await reader.close();
  assert.deepEqual(got, ["2", "3"]);
});

Deno.test("compareStreamIds() orders ids numerically", () => {
  assert.ok(compareStreamIds("10-0", "9-5") > 0);
  assert.ok(compareStreamIds("10-2", "10-10") < 0);
  assert.equal(compareStreamIds("7-1", "7-1"), 0);
});

Deno.test("expandEntries() unpacks packed entries into one entry per message, in order, with distinct message ids", () => {
  const packed = [batchLine("tick", JSON.stringify(tick("1"))), "no-space-here", batchLine("tick", "{}")]
    .join("\n");
  const out = expandEntries([
    { id: "1-0", message: { type: "tick", payload: JSON.stringify(tick("0")) } },
    { id: "2-0", message: { type: BATCH_TYPE, payload: packed } },
  ]);
  assert.deepEqual(out.map((e) => [e.id, e.index, e.message.type]), [
    ["1-0", undefined, "tick"],
    ["2-0", 0, "tick"],
    ["2-0", 1, BATCH_TYPE],
    ["2-0", 2, "tick"],
  ]);
  assert.deepEqual(out.map(messageId), ["1-0", "2-0/0", "2-0/1", "2-0/2"]);
  assert.ok(decodeEntry(STREAMS.ticks, out[1]).ok);
  // a line without a type has no payload: decoding says so, so it is dead-lettered, not lost
  const bad = decodeEntry(STREAMS.ticks, out[2]);
  assert.ok(!bad.ok && /no payload/.test(bad.reason));
  const plain = [{ id: "3-0", message: { type: "tick", payload: "{}" } }];
  assert.equal(expandEntries(plain), plain, "nothing packed: the same array back");
});

Deno.test("consumeGroup() and followStream() deliver the messages of packed entries and ack each entry once", async () => {
  await using fx = await redisFixture("packed");
  const key = streamKey(fx.prefix, STREAMS.ticks);
  const lines = (...prices: string[]) =>
    prices.map((p) => batchLine("tick", JSON.stringify(tick(p)))).join("\n");
  await fx.redis.xAdd(key, "*", { type: BATCH_TYPE, payload: lines("1", "2") });
  await fx.redis.xAdd(key, "*", { type: BATCH_TYPE, payload: `${lines("3")}\ntick {broken` });
  const seen = await consumePrices(fx, 3);
  assert.deepEqual(seen, ["1", "2", "3"]);
  assert.equal((await fx.redis.xPending(key, "g")).pending, 0);
  const dead = await readRange(fx.redis, `${key}:dead`);
  assert.equal(dead.length, 1, "the broken line, and only it");

  const reader = await connectRedis(fx.url);
  const follow = new AbortController();
  const followed: string[] = [];
  for await (
    const batch of followStream(reader, key, { signal: follow.signal, fromId: "0-0", blockMs: 100 })
  ) {
    for (const e of batch) followed.push(e.message.type);
    follow.abort();
  }
  await reader.close();
  assert.deepEqual(followed, ["tick", "tick", "tick", "tick"]);
  assert.equal((await readRange(fx.redis, key)).length, 4, "readRange unpacks too");
});

Deno.test("EntryCount asks for one entry first, then for as many entries as bring about the wanted messages", () => {
  const c = new EntryCount(2000);
  assert.equal(c.count, 1, "nothing known yet: one entry");
  c.observe(1, 1000);
  assert.equal(c.count, 2, "1000 messages an entry: two entries");
  c.observe(2, 2);
  assert.ok(c.count > 2 && c.count < 10, `moves toward unpacked entries gradually, got ${c.count}`);
  for (let i = 0; i < 100; i++) c.observe(100, 100);
  assert.equal(c.count, 2000, "one message an entry: 2000 entries");
  c.observe(0, 0);
  assert.equal(c.count, 2000, "an empty read changes nothing");
});

Deno.test("followStreams() follows several streams with one reader, by index, unpacking packed entries", async () => {
  await using fx = await redisFixture("follow-many");
  const ticks = streamKey(fx.prefix, STREAMS.ticks);
  const other = streamKey(fx.prefix, "other-ticks");
  const before = await fx.redis.xAdd(ticks, "*", { type: "tick", payload: JSON.stringify(tick("0")) });
  const reader = await connectRedis(fx.url);
  const stop = new AbortController();
  const seen: [number, string][] = [];
  const loop = (async () => {
    for await (
      const reads of followStreams(reader, [ticks, other], {
        signal: stop.signal,
        fromIds: [before, "0-0"],
        blockMs: 100,
      })
    ) {
      for (const { index, entries } of reads) {
        for (const e of entries) {
          const d = decodeEntry(STREAMS.ticks, e);
          seen.push([index, d.ok ? d.value.price : "bad"]);
        }
      }
      if (seen.length >= 4) stop.abort();
    }
  })();
  await fx.redis.xAdd(other, "*", {
    type: BATCH_TYPE,
    payload: [tick("1"), tick("2")].map((t) => batchLine("tick", JSON.stringify(t))).join("\n"),
  });
  await publish(fx.redis, fx.prefix, STREAMS.ticks, tick("3"));
  await publish(fx.redis, fx.prefix, STREAMS.ticks, tick("4"));
  const timer = setTimeout(() => stop.abort(), 5000);
  await loop;
  clearTimeout(timer);
  await reader.close();
  // the entry before the start is not delivered; the packed entry gives two messages of stream 1
  assert.deepEqual(seen.filter(([i]) => i === 1), [[1, "1"], [1, "2"]]);
  assert.deepEqual(seen.filter(([i]) => i === 0), [[0, "3"], [0, "4"]]);
});

Deno.test("followStreams() leaves out inactive streams, and resumes one from a cursor moved meanwhile", async () => {
  await using fx = await redisFixture("follow-active");
  const a = streamKey(fx.prefix, "a");
  const b = streamKey(fx.prefix, "b");
  const add = (key: string, price: string) =>
    fx.redis.xAdd(key, "*", { type: "tick", payload: JSON.stringify(tick(price)) });
  const reader = await connectRedis(fx.url);
  const stop = new AbortController();
  const active = [true, false];
  const cursors = ["0-0", "0-0"];
  const seen: string[] = [];
  const loop = (async () => {
    for await (
      const reads of followStreams(reader, [a, b], {
        signal: stop.signal,
        fromIds: ["0-0", "0-0"],
        cursors,
        isActive: (i) => active[i],
        blockMs: 50,
      })
    ) {
      for (const { index, entries } of reads) {
        for (const e of entries) {
          const d = decodeEntry(STREAMS.ticks, e);
          seen.push(`${index ? "b" : "a"}${d.ok ? d.value.price : "?"}`);
        }
      }
      if (seen.includes("b3")) stop.abort();
    }
  })();
  await add(a, "1");
  await add(b, "1"); // b is left out: never read
  const skipTo = await add(b, "2");
  while (!seen.includes("a1")) await new Promise((r) => setTimeout(r, 10));
  // resume b after its entry "2", as a caller does when someone starts listening
  cursors[1] = skipTo;
  active[1] = true;
  await add(b, "3");
  const timer = setTimeout(() => stop.abort(), 5000);
  await loop;
  clearTimeout(timer);
  await reader.close();
  assert.deepEqual(seen, ["a1", "b3"]);
});

Deno.test("followStreams({ complete }) yields both sides of a transaction together, however far behind", async () => {
  await using fx = await redisFixture("follow-complete");
  const replies = streamKey(fx.prefix, "replies:x");
  const events = streamKey(fx.prefix, "events");
  const add = (m: any, key: string, price: string) =>
    m.xAdd(key, "*", { type: "tick", payload: JSON.stringify(tick(price)) });
  // a backlog of other users' events, longer than one read's count
  const backlog = fx.redis.multi();
  for (let i = 1; i <= 25; i++) add(backlog, events, String(i));
  await backlog.exec();
  // one command's reply and its event, in one transaction
  const tx = fx.redis.multi();
  add(tx, replies, "1000");
  add(tx, events, "2000");
  await tx.exec();
  for (const complete of [false, true]) {
    const reader = await connectRedis(fx.url);
    const stop = new AbortController();
    let first: string[] = [];
    for await (
      const reads of followStreams(reader, [replies, events], {
        signal: stop.signal,
        fromIds: ["0-0", "0-0"],
        count: 10,
        blockMs: 50,
        complete,
      })
    ) {
      first = reads.flatMap(({ entries }) =>
        entries.map((e) => {
          const d = decodeEntry(STREAMS.ticks, e);
          return d.ok ? d.value.price : "?";
        })
      );
      stop.abort();
    }
    await reader.close();
    assert.equal(first.includes("1000"), true, "the reply");
    // without `complete`, the reply comes a read before its event: the split a follower must not see
    assert.equal(first.includes("2000"), complete, `its event, complete: ${complete}`);
    if (complete) assert.equal(first.length, 27);
  }
});

/** Batch sizes a consumeGroup loop sees while 6 ticks arrive 20 ms apart, after a first one. */
async function batchesOfTrickle(lingerMs: number): Promise<number[]> {
  await using fx = await redisFixture("linger");
  await publish(fx.redis, fx.prefix, STREAMS.ticks, tick("0"));
  const reader = await connectRedis(fx.url);
  const stop = new AbortController();
  const sizes: number[] = [];
  let first!: () => void;
  const firstSeen = new Promise<void>((r) => first = r);
  const loop = consumeGroup(reader, fx.prefix, STREAMS.ticks, {
    group: "g",
    consumer: "c1",
    signal: stop.signal,
    blockMs: 100,
    lingerMs,
    handle: (batch) => {
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

Deno.test("consumeGroup() with lingerMs waits after a short batch, so a trickle arrives in one batch", async () => {
  // without a linger each tick is read as it comes
  const eager = await batchesOfTrickle(0);
  assert.ok(eager.length >= 4, `batches without linger: ${eager}`);
  // with a linger longer than the trickle, the later ticks come together (the read after the first
  // asks for one entry only, to learn how many messages an entry holds: that one is not short)
  const lingering = await batchesOfTrickle(400);
  assert.ok(lingering.length <= 3 && lingering.at(-1)! >= 5, `batches with linger: ${lingering}`);
});

Deno.test("consumeGroup() takes over the entries a gone consumer left unacknowledged", async () => {
  await using fx = await redisFixture("claim");
  const key = streamKey(fx.prefix, STREAMS.ticks);
  await publishBatch(fx.redis, fx.prefix, STREAMS.ticks, [tick("1"), tick("2"), tick("3")]);
  await fx.redis.xGroupCreate(key, "g", "0");
  // a consumer that read two entries and was never seen again (crashed, renamed, scaled away)
  await fx.redis.xReadGroup("g", "gone", { key, id: ">" }, { COUNT: 2 });
  await new Promise((r) => setTimeout(r, 60));
  let claimed = 0;
  const seen = await consumePrices(fx, 3, { claimIdleMs: 50, onClaimed: (n) => claimed += n });
  assert.equal(claimed, 2);
  assert.deepEqual(seen.sort(), ["1", "2", "3"]);
  assert.equal((await fx.redis.xPending(key, "g")).pending, 0, "all acknowledged");
});

Deno.test("consumeGroup() gets past an entry it held that was deleted meanwhile, and says so", async () => {
  await using fx = await redisFixture("lost");
  const key = streamKey(fx.prefix, STREAMS.ticks);
  const [first] = await publishBatch(fx.redis, fx.prefix, STREAMS.ticks, [tick("1"), tick("2")]);
  await fx.redis.xGroupCreate(key, "g", "0");
  await fx.redis.xReadGroup("g", "c1", { key, id: ">" }, { COUNT: 1 }); // c1 holds the first, then stops
  await fx.redis.xDel(key, first);
  await publishBatch(fx.redis, fx.prefix, STREAMS.ticks, [tick("3")]);
  const lost: string[] = [];
  const seen = await consumePrices(fx, 2, { onLost: (id) => lost.push(id) });
  assert.deepEqual(seen, ["2", "3"]);
  assert.deepEqual(lost, [first]);
  assert.equal((await fx.redis.xPending(key, "g")).pending, 0, "the lost entry is acknowledged");
});

Deno.test("connectRedis() gives up on a server that accepts the connection but never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // accepted, never answered
  })();
  try {
    const url = `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
    const started = performance.now();
    await assert.rejects(
      connectRedis(url, { reconnect: false, timeoutMs: 300 }),
      /no answer within 300 ms/,
    );
    assert.ok(performance.now() - started < 3000, "gave up at the timeout, not at the socket's");
    // a stop while connecting ends the attempt too
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    await assert.rejects(
      connectRedis(url, { reconnect: false, signal: stop.signal }),
      /stopped while connecting/,
    );
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});
