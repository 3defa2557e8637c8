import assert from "node:assert/strict";
import {
  EngineCommand,
  type Execution,
  keys,
  type OrderAck,
  replyStream,
  type StreamDef,
  streamKey,
  STREAMS,
  type WalletView,
} from "@lib/contracts";
import { BATCH_TYPE, decodeEntry, type RawEntry, readRange, RespBatchConnection } from "@lib/redis";
import { redisFixture, sampleOrderAck } from "@lib/testing";
import type { CommandOutput, ReadModelChanges } from "./engine_api.ts";
import { takeCommands } from "./command_flow.ts";
import { createEngine, defaultEngineSettings } from "./engine.ts";
import {
  type Batch,
  BatchBuilder,
  CheckpointConflictError,
  commitBatch,
  deadLetterKey,
  poisonKey,
  replyKey,
} from "./outputs.ts";

const TS = 1_764_118_000_000;

function ack(over: Partial<OrderAck>): OrderAck {
  return sampleOrderAck({ createdAt: TS, ts: TS, ...over });
}

function execution(seq: number, maker: string, taker: string): Execution {
  return {
    tradeId: `BTC-USD-${seq}`,
    symbol: "BTC-USD",
    seq,
    price: "65000",
    qty: "0.5",
    quoteQty: "32500",
    makerOrderId: "o-1",
    makerUserId: maker,
    takerOrderId: "o-2",
    takerUserId: taker,
    takerSide: "SELL",
    buyerUserId: maker,
    sellerUserId: taker,
    buyOrderId: "o-1",
    sellOrderId: "o-2",
    makerFee: "0",
    takerFee: "0",
    feeAsset: "USD",
    ts: TS + 1,
  };
}

function wallet(userId: string, free: string): WalletView {
  return { userId, balances: [{ asset: "USD", free, locked: "0" }], updatedAt: TS };
}

function noChanges(): ReadModelChanges {
  return { orders: [], closedOrderIds: [], wallets: [], markets: [], books: [] };
}

function sampleBatch(): Batch {
  const place: CommandOutput = {
    replyTo: "replies:gw-1",
    reply: { ok: true, cmdId: "c-1", order: ack({}) },
    executions: [],
    orderEvents: [{ event: "NEW", order: ack({}), ts: TS }],
    walletEvents: [{
      userId: "alice",
      asset: "USD",
      freeDelta: "-65000",
      lockedDelta: "65000",
      free: "35000",
      locked: "65000",
      reason: "LOCK",
      ts: TS,
    }],
    bookDeltas: [{ symbol: "BTC-USD", seq: 1, bids: [["65000", "1"]], asks: [], ts: TS }],
  };
  const sell: CommandOutput = {
    replyTo: "replies:gw-1",
    reply: {
      ok: true,
      cmdId: "c-2",
      order: ack({ orderId: "o-2", userId: "bob", side: "SELL", status: "FILLED" }),
    },
    executions: [execution(1, "alice", "bob")],
    orderEvents: [],
    walletEvents: [],
    bookDeltas: [],
  };
  const rejected: CommandOutput = {
    reply: { ok: false, cmdId: "c-3", reason: "INSUFFICIENT_BALANCE", message: "not enough USD" },
    executions: [],
    orderEvents: [],
    walletEvents: [],
    bookDeltas: [],
  };
  return {
    outputs: [place, sell, rejected],
    dead: [{
      entry: { id: "1-5", message: { type: "place", payload: "{" } },
      reason: "payload is not JSON",
      source: "matching-engine/decode",
      poison: true,
    }],
    changes: {
      orders: [
        ack({ status: "PARTIALLY_FILLED", filledQty: "0.5", remainingQty: "0.5" }),
        ack({ orderId: "o-2", userId: "bob", side: "SELL", status: "FILLED", clientOrderId: "bob-1" }),
      ],
      closedOrderIds: ["o-2", "o-old"],
      wallets: [wallet("alice", "35000"), wallet("bob", "132500")],
      markets: [],
      books: [{
        symbol: "BTC-USD",
        seq: 2,
        bids: [{ price: "65000", qty: "0.5", orders: 1 }],
        asks: [],
        ts: TS,
      }],
    },
    checkpoint: `${TS}-7`,
    createdOrderIds: new Set(["o-1", "o-2"]),
  };
}

function builder(prefix: string): BatchBuilder {
  return new BatchBuilder({ prefix, streamMaxLen: 1000, replyMaxLen: 100, closedOrderTtlSeconds: 3600 });
}

Deno.test("replyKey() accepts reply stream names and full keys only", () => {
  assert.equal(replyKey("p", "replies:gw-1"), "p:stream:replies:gw-1");
  assert.equal(replyKey("p", "p:stream:replies:gw-1"), "p:stream:replies:gw-1");
  assert.equal(replyKey("p", "executions"), undefined);
  assert.equal(replyKey("p", "p:stream:executions"), undefined);
  assert.equal(replyKey("p", "replies:a b"), undefined);
});

Deno.test("BatchBuilder.build() ends with the checkpoint and packs each stream's messages into one entry", () => {
  const cmds = builder("p").build(sampleBatch());
  assert.deepEqual(cmds.at(-1), ["SET", "p:engine:checkpoint", `${TS}-7`, "GET"]);
  const xadds = cmds.filter((c) => c[0] === "XADD");
  assert.deepEqual(xadds.map((x) => x[1]), [
    "p:stream:order-events",
    "p:stream:wallet",
    "p:stream:book",
    "p:stream:replies:gw-1",
    "p:stream:executions",
    "p:stream:orders:dead",
  ]);
  // fields after the id "*" (MAXLEN ~ n comes before it once a stream's window is full)
  const packed = xadds.filter((x) =>
    x[x.indexOf("*") + 1] === "type" && x[x.indexOf("*") + 2] === BATCH_TYPE
  );
  assert.equal(packed.length, 5, "every output stream gets one packed entry; dead letters stay single");
  // the reply stream's entry holds the replies in command order
  const replies = packed.find((x) => x[1] === "p:stream:replies:gw-1")!.at(-1)!.split("\n");
  assert.deepEqual(
    replies.map((l) => [l.slice(0, l.indexOf(" ")), JSON.parse(l.slice(l.indexOf(" ") + 1)).cmdId]),
    [
      ["ok", "c-1"],
      ["ok", "c-2"],
    ],
  );
  // a reply stream expires unless its sender keeps it (the engine may create it again)
  assert.ok(cmds.some((c) => c.join(" ") === "PEXPIRE p:stream:replies:gw-1 3600000"));
  // each stream's count of messages goes to the messages-added hash
  assert.ok(cmds.some((c) => c.join(" ") === "HINCRBY p:stats:messages-added executions 1"));
  // one LPUSH per list, one ZADD per user and set, the closed order expires
  assert.equal(cmds.filter((c) => c[0] === "LPUSH" && c[1] === "p:fills:alice").length, 1);
  assert.ok(cmds.some((c) => c[0] === "SET" && c[1] === "p:order:o-2" && c[3] === "EX" && c[4] === "3600"));
  assert.ok(cmds.some((c) => c[0] === "EXPIRE" && c[1] === "p:order:o-old"));
  assert.ok(cmds.some((c) => c[0] === "SADD" && c[1] === "p:engine:poison" && c[2] === "1-5"));
});

Deno.test("commitBatch() writes every output and read model in one transaction", async () => {
  await using fx = await redisFixture("outputs");
  const { redis, prefix } = fx;
  using conn = await RespBatchConnection.connect(fx.url);
  const batch = sampleBatch();
  await commitBatch(conn, builder(prefix).build(batch), null);

  assert.equal(await redis.get(keys.checkpoint(prefix)), `${TS}-7`);
  const replies = await readRange(redis, streamKey(prefix, replyStream("gw-1")));
  assert.deepEqual(
    replies.map((e) => decodeEntry(replyStream("gw-1"), e)).map((d) => d.ok && d.value.cmdId),
    ["c-1", "c-2"],
  );
  const execs = await readRange(redis, streamKey(prefix, STREAMS.executions));
  assert.equal(execs.length, 1);
  const decoded = decodeEntry(STREAMS.executions, execs[0]);
  assert.ok(decoded.ok);
  assert.equal(decoded.value.tradeId, "BTC-USD-1");
  for (const s of [STREAMS.orderEvents, STREAMS.wallet, STREAMS.book] as StreamDef[]) {
    const entries = await readRange(redis, streamKey(prefix, s));
    assert.ok(entries.length >= 1, s.name);
    for (const e of entries) assert.ok(decodeEntry(s, e).ok, s.name);
    assert.equal(await redis.xLen(streamKey(prefix, s)), 1, `${s.name}: one packed entry`);
    assert.equal(
      await redis.hGet(keys.messagesAdded(prefix), s.name),
      String(entries.length),
      `${s.name}: messages added`,
    );
  }
  const dead = (await redis.xRange(deadLetterKey(prefix), "-", "+")) as RawEntry[];
  assert.equal(dead[0].message.originalId, "1-5");
  assert.equal(dead[0].message.source, "matching-engine/decode");
  assert.deepEqual(await redis.sMembers(poisonKey(prefix)), ["1-5"]);

  assert.equal(JSON.parse((await redis.hGet(keys.wallets(prefix), "bob"))!).balances[0].free, "132500");
  assert.equal(JSON.parse((await redis.get(keys.order(prefix, "o-1")))!).status, "PARTIALLY_FILLED");
  assert.equal(await redis.ttl(keys.order(prefix, "o-1")), -1);
  assert.ok(await redis.ttl(keys.order(prefix, "o-2")) > 3500);
  assert.deepEqual(await redis.zRange(keys.openOrders(prefix, "alice"), 0, -1), ["o-1"]);
  assert.deepEqual(await redis.zRange(keys.openOrders(prefix, "bob"), 0, -1), []);
  assert.deepEqual(await redis.zRange(keys.orderHistory(prefix, "bob"), 0, -1), ["o-2"]);
  // no clientOrderId -> orderId hash per user: nothing read it, and it grew with every order
  assert.deepEqual(await redis.keys(`${prefix}:coid:*`), []);
  assert.equal(await redis.lLen(keys.userTrades(prefix, "alice")), 1);
  assert.equal(await redis.lLen(keys.userTrades(prefix, "bob")), 1);
  assert.equal(await redis.lLen(keys.trades(prefix, "BTC-USD")), 1);
  assert.equal(JSON.parse((await redis.get(keys.book(prefix, "BTC-USD")))!).seq, 2);
});

Deno.test("commitBatch() trims user fills, symbol trades and order history", async () => {
  await using fx = await redisFixture("outputs");
  const { redis, prefix } = fx;
  using conn = await RespBatchConnection.connect(fx.url);
  const b = new BatchBuilder({
    prefix,
    streamMaxLen: 1000,
    replyMaxLen: 100,
    closedOrderTtlSeconds: 60,
    userTradesLimit: 3,
    symbolTradesLimit: 4,
    orderHistoryLimit: 2,
    trimSlack: 0,
  });
  const executions = [1, 2, 3, 4, 5].map((i) => execution(i, "alice", "bob"));
  const orders = [1, 2, 3].map((i) => ack({ orderId: `o-${i}`, createdAt: TS + i }));
  const out: CommandOutput = {
    reply: { ok: true, cmdId: "c" },
    executions,
    orderEvents: [],
    walletEvents: [],
    bookDeltas: [],
  };
  const batch: Batch = {
    outputs: [out],
    dead: [],
    changes: { ...noChanges(), orders },
    checkpoint: "1-1",
    createdOrderIds: new Set(orders.map((o) => o.orderId)),
  };
  await commitBatch(conn, b.build(batch), null);
  const fills = await redis.lRange(keys.userTrades(prefix, "alice"), 0, -1);
  assert.deepEqual(fills.map((f) => JSON.parse(f).seq), [5, 4, 3]); // newest first
  assert.equal(await redis.lLen(keys.trades(prefix, "BTC-USD")), 4);
  assert.deepEqual(await redis.zRange(keys.orderHistory(prefix, "alice"), 0, -1), ["o-2", "o-3"]);
});

Deno.test("commitBatch() refuses to continue when another writer moved the checkpoint", async () => {
  await using fx = await redisFixture("outputs");
  const { prefix } = fx;
  using conn = await RespBatchConnection.connect(fx.url);
  const b = builder(prefix);
  const empty = (checkpoint: string): Batch => ({
    outputs: [],
    dead: [],
    changes: noChanges(),
    checkpoint,
    createdOrderIds: new Set(),
  });
  await commitBatch(conn, b.build(empty("1-1")), null);
  await commitBatch(conn, b.build(empty("1-2")), "1-1");
  await assert.rejects(
    () => commitBatch(conn, b.build(empty("1-3")), "1-1"),
    (e: Error) => e instanceof CheckpointConflictError && /another engine is writing/.test(e.message),
  );
  // the checkpoint vanished: Redis lost its data, which the message says instead of blaming a writer
  await fx.redis.del(keys.checkpoint(prefix));
  await assert.rejects(
    () => commitBatch(conn, b.build(empty("1-4")), "1-3"),
    (e: Error) => e instanceof CheckpointConflictError && /is gone; Redis lost its data/.test(e.message),
  );
});

Deno.test("BatchBuilder caps packed streams in messages: MAXLEN counts the entries that hold them", () => {
  const b = new BatchBuilder({
    prefix: "p",
    streamMaxLen: 1000,
    replyMaxLen: 100,
    closedOrderTtlSeconds: 60,
  });
  const out = (n: number): CommandOutput => ({
    reply: { ok: true, cmdId: "c" },
    executions: [],
    orderEvents: [],
    walletEvents: [],
    bookDeltas: Array.from(
      { length: n },
      (_, i) => ({ symbol: "BTC-USD", seq: i + 1, bids: [], asks: [], ts: TS }),
    ),
  });
  const maxLen = (n: number) => {
    const cmds = b.build({
      outputs: [out(n)],
      dead: [],
      changes: noChanges(),
      checkpoint: "1-1",
      createdOrderIds: new Set(),
    });
    const x = cmds.find((c) => c[0] === "XADD" && c[1] === "p:stream:book")!;
    if (x[2] !== "MAXLEN") return Infinity; // trims nothing
    assert.deepEqual(x.slice(2, 4), ["MAXLEN", "~"]);
    return Number(x[4]);
  };
  for (let i = 0; i < 9; i++) assert.equal(maxLen(100), Infinity, "fewer than 1000 messages seen: no trim");
  assert.equal(maxLen(100), 10, "100 messages an entry: 10 entries keep 1000 messages");
  // the stream as Redis keeps it, trimmed to each MAXLEN: busy batches, then quiet ones
  const stream = Array(10).fill(100);
  let written = 1000;
  for (
    const m of [...Array(1500).fill(1), ...Array(20).fill(300), ...Array(50).fill(2)]
  ) {
    stream.push(m);
    written += m;
    stream.splice(0, Math.max(0, stream.length - maxLen(m)));
    const kept = stream.reduce((a, b) => a + b, 0);
    assert.ok(
      kept >= Math.min(1000, written),
      `kept ${kept} messages of ${written} in ${stream.length} entries`,
    );
    assert.ok(kept - stream[0] < 1000, `kept ${kept} messages: one entry fewer would do`);
  }
});

Deno.test("BatchBuilder writes each order event and order read model exactly as JSON.stringify would", () => {
  const settings = defaultEngineSettings();
  const engine = createEngine(settings);
  const builder = new BatchBuilder({
    prefix: "t",
    streamMaxLen: 1_000,
    replyMaxLen: 100,
    closedOrderTtlSeconds: 60,
  });
  const commands = takeCommands({ seed: 5, users: 30, markets: settings.markets }, 2_000);
  let events = 0;
  let orders = 0;
  for (let b = 0; b < commands.length; b += 100) {
    const outputs = commands.slice(b, b + 100).map((c, i) =>
      engine.apply(EngineCommand.parse(c), { id: `${TS + b + i}-0`, ts: TS + b + i })
    );
    const changes = engine.takeChanges();
    const cmds = builder.build({ outputs, dead: [], changes, checkpoint: "1-0", createdOrderIds: new Set() });
    const packed = cmds.find((c) => c[0] === "XADD" && c[1] === streamKey("t", STREAMS.orderEvents));
    const lines = packed![packed!.length - 1]!.split("\n").map((l) => l.slice(l.indexOf(" ") + 1));
    assert.deepEqual(lines, outputs.flatMap((o) => o.orderEvents).map((ev) => JSON.stringify(ev)));
    const sets = new Map(
      cmds.filter((c) => c[0] === "SET" && c[1]!.startsWith("t:order:")).map((c) => [c[1], c[2]]),
    );
    for (const o of changes.orders) assert.equal(sets.get(keys.order("t", o.orderId)), JSON.stringify(o));
    events += lines.length;
    orders += changes.orders.length;
  }
  assert.ok(events > 3_000 && orders > 1_500, `${events} events, ${orders} orders`);
});
