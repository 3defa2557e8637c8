import assert from "node:assert/strict";
import {
  type EngineCommandInput,
  type EngineReply,
  keys,
  replyStream,
  streamKey,
  STREAMS,
} from "@lib/contracts";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import {
  connectRedis,
  decodeEntry,
  encodeEntry,
  type RawEntry,
  readRange,
  type RedisClient,
  RespBatchConnection,
  RespStreamReader,
} from "@lib/redis";
import { redisFixture, waitFor } from "@lib/testing";
import { createEngine, defaultEngineSettings, restoreEngine } from "./engine.ts";
import type { CommandMeta, EngineSettings, MatchingEngine } from "./engine_api.ts";
import { deadLetterKey, poisonKey } from "./outputs.ts";
import type { EngineFactory } from "./recovery.ts";
import { createEngineMetrics, EngineRunner, type RunOptions } from "./run.ts";
import { readManifest } from "./snapshot_store.ts";

const REAL: EngineFactory = { createEngine, restoreEngine };

function settings(): EngineSettings {
  return { ...defaultEngineSettings(), makerFeeBps: 10, takerFeeBps: 20 };
}

function options(prefix: string, over: Partial<RunOptions> = {}): RunOptions {
  return {
    prefix,
    batchSize: 50,
    blockMs: 50,
    snapshotIntervalMs: 60_000,
    snapshotEvery: 0,
    snapshot: {},
    outputs: { streamMaxLen: 100_000, replyMaxLen: 100_000, closedOrderTtlSeconds: 3600, trimSlack: 0 },
    commandRetentionMs: 0,
    commandMaxLen: 0,
    ...over,
  };
}

/** A runner over its own connections, running until `stop()`. */
async function startRunner(
  url: string,
  prefix: string,
  over: Partial<RunOptions> = {},
  factory: EngineFactory = REAL,
) {
  const reader = new RespStreamReader(url);
  const aux = await connectRedis(url);
  const registry = new Registry();
  const runner = await EngineRunner.start({
    connectBatches: () => RespBatchConnection.connect(url),
    reader,
    aux,
    factory,
    settings: settings(),
    log: createLogger("test", { write: () => {} }),
    metrics: createEngineMetrics(registry),
  }, options(prefix, over));
  const ac = new AbortController();
  const loop = runner.run(ac.signal);
  loop.catch(() => {}); // tests look at the rejection themselves
  return {
    runner,
    registry,
    loop,
    async stop() {
      ac.abort();
      try {
        await loop;
      } finally {
        reader.close();
        await aux.close();
      }
    },
  };
}

async function send(redis: RedisClient, prefix: string, commands: EngineCommandInput[]): Promise<string> {
  let last = "";
  for (const c of commands) {
    last = await redis.xAdd(streamKey(prefix, STREAMS.orders), "*", encodeEntry(STREAMS.orders, c));
  }
  return last;
}

async function untilApplied(redis: RedisClient, prefix: string, id: string): Promise<void> {
  await waitFor(async () => (await redis.get(keys.checkpoint(prefix))) === id, { what: `checkpoint ${id}` });
}

async function replies(redis: RedisClient, prefix: string, sender = "t"): Promise<EngineReply[]> {
  const def = replyStream(sender);
  const entries = await readRange(redis, streamKey(prefix, def));
  return entries.map((e) => {
    const d = decodeEntry(def, e);
    assert.ok(d.ok, !d.ok ? d.reason : "");
    return d.value;
  });
}

function trading(): EngineCommandInput[] {
  return [
    { type: "openAccount", cmdId: "a1", replyTo: "replies:t", userId: "alice" },
    { type: "openAccount", cmdId: "a2", replyTo: "replies:t", userId: "bob" },
    {
      type: "place",
      cmdId: "p1",
      replyTo: "replies:t",
      userId: "alice",
      symbol: "BTC-USD",
      side: "SELL",
      orderType: "LIMIT",
      price: "65000",
      qty: "0.5",
      clientOrderId: "alice-1",
    },
    {
      type: "place",
      cmdId: "p2",
      replyTo: "replies:t",
      userId: "bob",
      symbol: "BTC-USD",
      side: "BUY",
      orderType: "LIMIT",
      price: "65000",
      qty: "0.2",
    },
    {
      type: "place",
      cmdId: "p3",
      replyTo: "replies:t",
      userId: "bob",
      symbol: "BTC-USD",
      side: "BUY",
      orderType: "LIMIT",
      price: "64000",
      qty: "0.1",
      clientOrderId: "bob-rest",
    },
  ];
}

/** The state a fresh engine reaches from every command in the stream (the reference). */
async function replayAll(redis: RedisClient, prefix: string, skip: Set<string> = new Set()) {
  const engine = createEngine(settings());
  const entries = (await redis.xRange(streamKey(prefix, STREAMS.orders), "-", "+")) as RawEntry[];
  for (const e of entries) {
    if (skip.has(e.id)) continue;
    const d = decodeEntry(STREAMS.orders, e);
    if (d.ok) engine.apply(d.value, { id: e.id, ts: Number(e.id.split("-")[0]) });
  }
  return engine;
}

Deno.test("EngineRunner commits replies, executions and read models for each batch", async () => {
  await using fx = await redisFixture("run");
  const { redis, prefix, url } = fx;
  const r = await startRunner(url, prefix);
  try {
    // a fresh start writes the markets
    assert.deepEqual((await redis.hKeys(keys.markets(prefix))).sort(), ["BTC-ETH", "BTC-USD", "ETH-USD"]);
    const last = await send(redis, prefix, trading());
    await untilApplied(redis, prefix, last);
    const rs = await replies(redis, prefix);
    assert.deepEqual(rs.map((x) => [x.cmdId, x.ok]), [
      ["a1", true],
      ["a2", true],
      ["p1", true],
      ["p2", true],
      [
        "p3",
        true,
      ],
    ]);
    const execs = await readRange(redis, streamKey(prefix, STREAMS.executions));
    assert.equal(execs.length, 1);
    const fill = decodeEntry(STREAMS.executions, execs[0]);
    assert.ok(fill.ok);
    assert.equal(fill.value.qty, "0.2");

    const p1 = rs[2].ok ? rs[2].order! : assert.fail("p1 rejected");
    const p3 = rs[4].ok ? rs[4].order! : assert.fail("p3 rejected");
    assert.equal(JSON.parse((await redis.get(keys.order(prefix, p1.orderId)))!).status, "PARTIALLY_FILLED");
    assert.deepEqual(await redis.zRange(keys.openOrders(prefix, "alice"), 0, -1), [p1.orderId]);
    assert.deepEqual(await redis.zRange(keys.openOrders(prefix, "bob"), 0, -1), [p3.orderId]);
    assert.equal((await redis.zRange(keys.orderHistory(prefix, "bob"), 0, -1)).length, 2);
    assert.equal(await redis.lLen(keys.userTrades(prefix, "alice")), 1);
    assert.equal(await redis.lLen(keys.userTrades(prefix, "bob")), 1);
    assert.equal(await redis.lLen(keys.trades(prefix, "BTC-USD")), 1);
    const book = JSON.parse((await redis.get(keys.book(prefix, "BTC-USD")))!);
    assert.deepEqual(book.asks[0], { price: "65000", qty: "0.3", orders: 1 });
    const bob = JSON.parse((await redis.hGet(keys.wallets(prefix), "bob"))!);
    assert.ok(
      bob.balances.some((b: { asset: string; free: string }) => b.asset === "BTC" && b.free === "2.2"),
    );
  } finally {
    await r.stop();
  }
  // the final snapshot covers everything applied
  assert.equal((await readManifest(redis, prefix))?.cursor, await redis.get(keys.checkpoint(prefix)));
});

Deno.test("EngineRunner applies the commands sent just after its stop signal, then stops", async () => {
  // a Ctrl-C signals every process at once: the simulator's last cancels come a moment later
  await using fx = await redisFixture("run-last");
  const r = await startRunner(fx.url, fx.prefix);
  await untilApplied(fx.redis, fx.prefix, await send(fx.redis, fx.prefix, trading().slice(0, 2)));
  const stopping = r.stop();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const late = await send(fx.redis, fx.prefix, [trading()[2]]);
  const t0 = Date.now();
  await stopping;
  assert.equal(await fx.redis.get(keys.checkpoint(fx.prefix)), late, "the late command was applied");
  assert.ok((await replies(fx.redis, fx.prefix)).some((x) => x.cmdId === "p1"), "and answered");
  assert.ok(Date.now() - t0 < 2500, "the grace is bounded");
});

Deno.test("EngineRunner dead-letters bad entries, answers when it can, and keeps going", async () => {
  await using fx = await redisFixture("run");
  const { redis, prefix, url } = fx;
  const r = await startRunner(url, prefix);
  try {
    const key = streamKey(prefix, STREAMS.orders);
    const notJson = await redis.xAdd(key, "*", { type: "place", payload: "{oops" });
    const noPayload = await redis.xAdd(key, "*", { type: "place" });
    const badField = await redis.xAdd(key, "*", {
      type: "place",
      payload: JSON.stringify({
        type: "place",
        cmdId: "bad-1",
        replyTo: "replies:t",
        userId: "alice",
        side: "UP",
      }),
    });
    const badReplyTo = await send(redis, prefix, [{
      type: "openAccount",
      cmdId: "x",
      replyTo: "executions",
      userId: "eve",
    }]);
    const impossible = await send(redis, prefix, [{
      type: "place",
      cmdId: "nope",
      replyTo: "replies:t",
      userId: "alice",
      symbol: "NOPE-USD",
      side: "BUY",
      orderType: "LIMIT",
      price: "1",
      qty: "1",
    }]);
    const last = await send(redis, prefix, [{
      type: "openAccount",
      cmdId: "ok",
      replyTo: "replies:t",
      userId: "carol",
    }]);
    await untilApplied(redis, prefix, last);

    const dead = (await redis.xRange(deadLetterKey(prefix), "-", "+")) as RawEntry[];
    assert.deepEqual(dead.map((d) => d.message.originalId), [notJson, noPayload, badField, badReplyTo]);
    assert.match(dead[0].message.reason, /not JSON/);
    assert.match(dead[2].message.reason, /side/);
    assert.match(dead[3].message.reason, /replyTo/);
    assert.equal(await redis.exists(streamKey(prefix, "executions")), 0);
    const rs = await replies(redis, prefix);
    // senders match replies by cmdId; within one batch a dead command's reply follows the others
    assert.deepEqual(rs.map((x) => [x.cmdId, x.ok ? "ok" : x.reason]).sort(), [
      ["bad-1", "INVALID_ORDER"],
      ["nope", "UNKNOWN_SYMBOL"],
      ["ok", "ok"],
    ]);
    assert.ok(impossible);
    assert.ok(await redis.hExists(keys.wallets(prefix), "carol"));
  } finally {
    await r.stop();
  }
});

Deno.test("EngineRunner drops a command whose apply throws and rebuilds the state without it", async () => {
  await using fx = await redisFixture("run");
  const { redis, prefix, url } = fx;
  // the wrapped engine applies "boom" fully and then throws: the worst case, a half-done command
  const throwing: EngineFactory = {
    createEngine: (s) => explodeOn(createEngine(s)),
    restoreEngine: (s, snap) => explodeOn(restoreEngine(s, snap)),
  };
  const r = await startRunner(url, prefix, { snapshotEvery: 3 }, throwing);
  let boomId: string;
  try {
    const first = trading();
    await untilApplied(redis, prefix, await send(redis, prefix, first));
    // both in one transaction, so one read brings them: the batch stops at "boom", and "after" (read
    // already, and read ahead past) must be read again and applied
    const both = redis.multi();
    for (
      const c of [{
        type: "place",
        cmdId: "boom",
        replyTo: "replies:t",
        userId: "alice",
        symbol: "BTC-USD",
        side: "BUY",
        orderType: "LIMIT",
        price: "64500",
        qty: "1",
      }, {
        type: "place",
        cmdId: "after",
        replyTo: "replies:t",
        userId: "bob",
        symbol: "BTC-USD",
        side: "SELL",
        orderType: "MARKET",
        qty: "0.1",
      }] as const
    ) both.xAdd(streamKey(prefix, STREAMS.orders), "*", encodeEntry(STREAMS.orders, c));
    const [poisoned] = (await both.exec()) as unknown as string[];
    boomId = poisoned;
    // and one more right away: the read ahead (from past "after") brings it, and must not be used
    const last = await send(redis, prefix, [{ type: "openAccount", cmdId: "later", userId: "carol" }]);
    await untilApplied(redis, prefix, last);
    const answered = await replies(redis, prefix);
    assert.equal(answered.find((x) => x.cmdId === "after")?.ok, true, "the command after the poisoned one");
    const dead = (await redis.xRange(deadLetterKey(prefix), "-", "+")) as RawEntry[];
    assert.equal(dead.length, 1);
    assert.equal(dead[0].message.originalId, boomId);
    assert.equal(dead[0].message.source, "matching-engine/apply");
    assert.deepEqual(await redis.sMembers(poisonKey(prefix)), [boomId]);
    const rs = await replies(redis, prefix);
    const boom = rs.find((x) => x.cmdId === "boom")!;
    assert.equal(boom.ok, false);
    // the live state is exactly the state without "boom": its resting bid never existed
    const reference = await replayAll(redis, prefix, new Set([boomId]));
    assert.deepEqual(r.runner.engine.snapshot().state, reference.snapshot().state);
    assert.equal(await redis.zCard(keys.openOrders(prefix, "alice")), 1);
  } finally {
    await r.stop();
  }
  // a restart (snapshot + replay) skips it too
  const again = await startRunner(url, prefix, {}, throwing);
  try {
    const reference = await replayAll(redis, prefix, new Set([boomId]));
    assert.deepEqual(again.runner.engine.snapshot().state, reference.snapshot().state);
  } finally {
    await again.stop();
  }
});

function explodeOn(engine: MatchingEngine): MatchingEngine {
  return {
    apply(command, meta: CommandMeta) {
      const out = engine.apply(command, meta);
      if (command.cmdId === "boom") throw new Error("invariant broken");
      return out;
    },
    takeChanges: () => engine.takeChanges(),
    snapshot: () => engine.snapshot(),
    get lastCommandId() {
      return engine.lastCommandId;
    },
  };
}

Deno.test("EngineRunner restarts from an older snapshot by replaying without writing outputs again", async () => {
  await using fx = await redisFixture("run");
  const { redis, prefix, url } = fx;
  const a = await startRunner(url, prefix);
  await untilApplied(redis, prefix, await send(redis, prefix, trading().slice(0, 3)));
  await a.stop();
  const oldManifest = (await redis.get(keys.snapshot(prefix)))!;

  const b = await startRunner(url, prefix);
  await untilApplied(redis, prefix, await send(redis, prefix, trading().slice(3)));
  await b.stop();
  const finalState = b.runner.engine.snapshot().state;
  // as if the process died before saving its newer snapshot
  await redis.set(keys.snapshot(prefix), oldManifest);
  const lengths = async () =>
    await Promise.all(
      [STREAMS.executions, STREAMS.orderEvents, STREAMS.wallet, STREAMS.book, replyStream("t")].map((s) =>
        redis.xLen(streamKey(prefix, s))
      ),
    );
  const before = await lengths();

  const c = await startRunner(url, prefix);
  try {
    assert.deepEqual(c.runner.engine.snapshot().state, finalState);
    assert.deepEqual(await lengths(), before);
    assert.match(c.registry.render(), /kalency_engine_recovery_replayed_commands 2/);
  } finally {
    await c.stop();
  }
});

Deno.test("EngineRunner trims commands a snapshot covers once the stream passes its cap", async () => {
  await using fx = await redisFixture("run");
  const { redis, prefix, url } = fx;
  const r = await startRunner(url, prefix, { commandMaxLen: 3, snapshotEvery: 1, batchSize: 2 });
  let last = "";
  try {
    last = await send(redis, prefix, trading());
    await untilApplied(redis, prefix, last);
  } finally {
    await r.stop();
  }
  assert.ok(await redis.xLen(streamKey(prefix, STREAMS.orders)) < 5);
  const again = await startRunner(url, prefix);
  try {
    assert.equal(again.runner.cursor, last);
  } finally {
    await again.stop();
  }
});

Deno.test("EngineRunner stops when another engine writes under the same prefix", async () => {
  await using fx = await redisFixture("run");
  const { redis, prefix, url } = fx;
  const a = await startRunner(url, prefix);
  const b = await startRunner(url, prefix);
  try {
    await send(redis, prefix, trading());
    const failed = await Promise.race([
      a.loop.then(() => "a ended", (e) => e),
      b.loop.then(() => "b ended", (e) => e),
    ]);
    assert.match(String(failed), /another engine is writing/);
  } finally {
    await a.stop().catch(() => {});
    await b.stop().catch(() => {});
  }
});

Deno.test("EngineRunner never trims entries a consumer group has not read; it trims again once they are acknowledged", async () => {
  await using fx = await redisFixture("run");
  const { redis, prefix, url } = fx;
  const wallet = streamKey(prefix, STREAMS.wallet);
  // a ledger writer that has read nothing yet (a database outage, say)
  await redis.xGroupCreate(wallet, "ledger-writer", "0", { MKSTREAM: true });
  const opens = (from: number, n: number): EngineCommandInput[] =>
    Array.from(
      { length: n },
      (_, i) => ({ type: "openAccount", cmdId: `o${from + i}`, userId: `u${from + i}` }),
    );
  const r = await startRunner(url, prefix, {
    batchSize: 1,
    outputs: { streamMaxLen: 30, replyMaxLen: 100, closedOrderTtlSeconds: 3600, trimSlack: 0 },
  });
  try {
    await untilApplied(redis, prefix, await send(redis, prefix, opens(0, 600)));
    const entries = await redis.xLen(wallet);
    assert.ok(entries >= 600, `the group's ${entries} unread entries are all kept (the cap is 30 messages)`);
    // the group reads and acknowledges everything: trimming to the cap comes back
    const read = await redis.xReadGroup("ledger-writer", "c1", { key: wallet, id: ">" }, { COUNT: 100_000 });
    const ids = read![0].messages.map((m) => m.id);
    await redis.xAck(wallet, "ledger-writer", ids);
    await r.runner.refreshConsumerNeeds();
    await untilApplied(redis, prefix, await send(redis, prefix, opens(600, 300)));
    const after = await redis.xLen(wallet);
    assert.ok(after < 600, `trimmed again to ${after} entries`);
  } finally {
    await r.stop();
  }
});
