import assert from "node:assert/strict";
import { fromScaled, toScaled } from "@lib/candles";
import { type OrderEvent, streamKey, STREAMS, type WalletEvent } from "@lib/contracts";
import {
  balancesFromPostings,
  EXTERNAL_ACCOUNT,
  postingsForExecution,
  postingsForWalletEvent,
  postingsHistory,
  sampleExecutions,
} from "@lib/ledger";
import { connectRedis, groupLag, publishBatch, type RedisClient } from "@lib/redis";
import { CopyWriter } from "@lib/db";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { dbFixture, redisFixture, TEST_REDIS_URL, waitFor } from "@lib/testing";
import { LEDGER_GROUP, startLedgerWriter } from "./run.ts";
import { sampleAck } from "./testing.ts";

const USERS = ["alice", "bob", "carol", "dave"];
const T0 = Date.UTC(2026, 0, 1);

function funding(): WalletEvent[] {
  const out: WalletEvent[] = [];
  for (const userId of USERS) {
    for (const [asset, amount] of [["USD", "100000"], ["BTC", "2"], ["ETH", "30"]]) {
      out.push({
        userId,
        asset,
        freeDelta: amount,
        lockedDelta: "0",
        free: amount,
        locked: "0",
        reason: "OPEN_ACCOUNT",
        ts: T0,
      });
    }
  }
  out.push({
    userId: "bob",
    asset: "USD",
    freeDelta: "2500.5",
    lockedDelta: "0",
    free: "0",
    locked: "0",
    reason: "DEPOSIT",
    ts: T0 + 5,
  });
  // internal moves: acknowledged, no postings
  out.push({
    userId: "bob",
    asset: "USD",
    freeDelta: "-10",
    lockedDelta: "10",
    free: "0",
    locked: "10",
    reason: "LOCK",
    ts: T0 + 6,
  });
  return out;
}

export async function withWriter<T>(
  fx: { redis: RedisClient; prefix: string },
  db: { sql: Parameters<typeof startLedgerWriter>[0]["sql"]; url: string },
  fn: (w: ReturnType<typeof startLedgerWriter>) => Promise<T>,
  options: { tradeBatch?: number } = {},
): Promise<T> {
  // trades go in by COPY, as in the service
  const copy = new CopyWriter(db.url);
  const readers = {
    executions: await connectRedis(TEST_REDIS_URL),
    wallet: await connectRedis(TEST_REDIS_URL),
    orderEvents: await connectRedis(TEST_REDIS_URL),
  };
  const stop = new AbortController();
  const writer = startLedgerWriter({
    redis: fx.redis,
    readers,
    sql: db.sql,
    copy,
    log: createLogger("test", { level: "error" }),
    registry: new Registry(),
  }, {
    prefix: fx.prefix,
    consumer: "w1",
    feeAccount: "kalency-fees",
    tradeBatch: options.tradeBatch ?? 500,
    eventBatch: 500,
    tradeConcurrency: 2,
    eventConcurrency: 2,
    blockMs: 100,
    retry: { initialMs: 20, maxMs: 200 },
    lagIntervalMs: 50,
  }, stop.signal);
  try {
    return await fn(writer);
  } finally {
    stop.abort();
    await writer.done;
    for (const r of Object.values(readers)) await r.close();
    await copy.close();
  }
}

async function drained(redis: RedisClient, prefix: string): Promise<boolean> {
  for (const s of [STREAMS.executions, STREAMS.wallet, STREAMS.orderEvents]) {
    const l = await groupLag(redis, streamKey(prefix, s), LEDGER_GROUP);
    if (l.lag !== 0 || l.pending !== 0) return false;
  }
  return true;
}

function expectedBalances(flow: ReturnType<typeof sampleExecutions>, wallet: WalletEvent[]) {
  const acc = new Map<string, bigint>();
  const postings = [
    ...flow.flatMap((e) => postingsForExecution(e, "kalency-fees")),
    ...wallet.flatMap((w, i) => postingsForWalletEvent(w, `x-${i}`)),
  ];
  for (const p of postings) {
    acc.set(`${p.account}|${p.asset}`, (acc.get(`${p.account}|${p.asset}`) ?? 0n) + toScaled(p.amount));
  }
  return [...acc.entries()].map(([k, v]) => {
    const [account, asset] = k.split("|");
    return { account, asset, balance: fromScaled(v) };
  }).sort((a, b) => a.account < b.account ? -1 : a.account > b.account ? 1 : a.asset < b.asset ? -1 : 1);
}

Deno.test("ledger writer: every trade once with buyer and seller right, postings balanced, redeliveries harmless", async () => {
  await using fx = await redisFixture("ledger");
  await using db = await dbFixture();
  const flow = sampleExecutions({
    count: 3000,
    symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
    makerFeeBps: 2,
    takerFeeBps: 10,
  });
  const wallet = funding();
  await publishBatch(fx.redis, fx.prefix, STREAMS.wallet, wallet);
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow);
  const execKey = streamKey(fx.prefix, STREAMS.executions);
  await fx.redis.xAdd(execKey, "*", { type: "execution", payload: '{"tradeId":1}' });

  await withWriter(fx, db, async () => {
    await waitFor(() => drained(fx.redis, fx.prefix), { timeoutMs: 20_000, what: "everything written" });
    // a producer retry publishes some trades again, and the group is rewound (a crash after commit)
    await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow.slice(100, 110));
    await fx.redis.xGroupSetId(execKey, LEDGER_GROUP, "0");
    await waitFor(() => drained(fx.redis, fx.prefix), { timeoutMs: 20_000, what: "the replay written" });
  });

  const [{ n, distinct }] = await db.sql<{ n: number; distinct: number }[]>`
    SELECT count(*)::int AS n, count(DISTINCT trade_id)::int AS distinct FROM trade_ledger`;
  assert.equal(n, flow.length);
  assert.equal(distinct, flow.length);
  const rows = await db.sql<
    { trade_id: string; buy_user_id: string; sell_user_id: string; price: string; qty: string }[]
  >`
    SELECT trade_id, buy_user_id, sell_user_id, price::text, qty::text FROM trade_ledger`;
  const byId = new Map(rows.map((r) => [r.trade_id, r]));
  for (const e of flow) {
    const r = byId.get(e.tradeId)!;
    assert.equal(r.buy_user_id, e.buyerUserId, e.tradeId);
    assert.equal(r.sell_user_id, e.sellerUserId, e.tradeId);
    assert.equal(fromScaled(toScaled(r.price)), e.price);
    assert.equal(fromScaled(toScaled(r.qty)), e.qty);
  }
  // double entry: every ref sums to zero per asset, and so does everything
  const unbalanced = await db.sql`
    SELECT ref, asset, sum(amount) FROM ledger_postings GROUP BY ref, asset HAVING sum(amount) <> 0`;
  assert.equal(unbalanced.length, 0);
  // the view gives exactly the pure postings of a trade
  const sample = flow[1234];
  const legs = await db.sql<{ leg: number; kind: string; account: string; asset: string; amount: string }[]>`
    SELECT leg, kind, account, asset, amount::text FROM ledger_postings WHERE ref = ${sample.tradeId} ORDER BY leg`;
  assert.deepEqual(
    legs.map((l) => [l.leg, l.kind, l.account, l.asset, fromScaled(toScaled(l.amount))]),
    postingsForExecution(sample, "kalency-fees").map((p) => [p.leg, p.kind, p.account, p.asset, p.amount]),
  );
  assert.deepEqual(await balancesFromPostings(db.sql), expectedBalances(flow, wallet));
  const alice = await balancesFromPostings(db.sql, "alice");
  assert.deepEqual(alice, expectedBalances(flow, wallet).filter((b) => b.account === "alice"));
  const external = await balancesFromPostings(db.sql, EXTERNAL_ACCOUNT);
  assert.deepEqual(external.find((b) => b.asset === "USD")?.balance, "-402500.5");
  // balances at a time in the past: only the funding
  assert.deepEqual(
    (await balancesFromPostings(db.sql, "bob", { at: T0 + 5 })).map((b) => [b.asset, b.balance]),
    [["BTC", "2"], ["ETH", "30"], ["USD", "102500.5"]],
  );

  const [offset] = await db.sql<{ last_id: string }[]>`
    SELECT last_id FROM consumer_offsets WHERE consumer = ${LEDGER_GROUP} AND stream = ${execKey}`;
  const [tip] = (await fx.redis.xRevRange(execKey, "+", "-", { COUNT: 1 })) ?? [];
  assert.equal(offset.last_id, tip.id);
  // the undecodable entry was dead-lettered (once per delivery: the rewind delivered it twice)
  const dead = (await fx.redis.xRange(`${execKey}:dead`, "-", "+")) ?? [];
  assert.equal(new Set(dead.map((d) => d.message.originalId)).size, 1);
});

Deno.test("postingsHistory() pages through a user's postings newest first", async () => {
  await using fx = await redisFixture("ledger-hist");
  await using db = await dbFixture();
  const flow = sampleExecutions({ count: 300, makerFeeBps: 1, takerFeeBps: 5 });
  const wallet = funding();
  await publishBatch(fx.redis, fx.prefix, STREAMS.wallet, wallet);
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow);
  await withWriter(fx, db, () => waitFor(() => drained(fx.redis, fx.prefix), { what: "written" }));

  const all = [];
  let cursor: string | undefined;
  do {
    const page = await postingsHistory(db.sql, "alice", { limit: 37, cursor });
    all.push(...page.postings);
    cursor = page.nextCursor;
  } while (cursor);
  const expected = [
    ...flow.flatMap((e) => postingsForExecution(e, "kalency-fees")),
    ...wallet.flatMap((w) => postingsForWalletEvent(w, "x")),
  ]
    .filter((p) => p.account === "alice");
  assert.equal(all.length, expected.length);
  assert.equal(
    new Set(all.map((p) => `${p.ref}/${p.leg}`)).size,
    all.length,
    "no posting twice across pages",
  );
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].postedAt >= all[i].postedAt, "newest first");
  const usd = await postingsHistory(db.sql, "alice", { asset: "BTC", limit: 500 });
  assert.ok(usd.postings.length > 0 && usd.postings.every((p) => p.asset === "BTC"));
  await assert.rejects(() => postingsHistory(db.sql, "alice", { limit: 5, cursor: "nonsense" }), TypeError);
});

Deno.test("ledger writer: order events are kept, and orders hold their latest state", async () => {
  await using fx = await redisFixture("ledger-orders");
  await using db = await dbFixture();
  const events: OrderEvent[] = [
    { event: "NEW", order: sampleAck("o-1", "ACCEPTED", "0", T0), ts: T0 },
    { event: "NEW", order: sampleAck("o-2", "ACCEPTED", "0", T0 + 1), ts: T0 + 1 },
    {
      event: "TRADE",
      order: sampleAck("o-1", "PARTIALLY_FILLED", "0.4", T0 + 2),
      tradeId: "t-1",
      ts: T0 + 2,
    },
    { event: "TRADE", order: sampleAck("o-1", "FILLED", "1", T0 + 3), tradeId: "t-2", ts: T0 + 3 },
    { event: "CANCELED", order: sampleAck("o-2", "CANCELED", "0", T0 + 4), ts: T0 + 4 },
  ];
  await publishBatch(fx.redis, fx.prefix, STREAMS.orderEvents, events.slice(0, 3));
  await withWriter(fx, db, async () => {
    await waitFor(() => drained(fx.redis, fx.prefix), { what: "first events" });
    await publishBatch(fx.redis, fx.prefix, STREAMS.orderEvents, events.slice(3));
    await waitFor(() => drained(fx.redis, fx.prefix), { what: "all events" });
    // everything again from the start: the orders must not move back
    await fx.redis.xGroupSetId(streamKey(fx.prefix, STREAMS.orderEvents), LEDGER_GROUP, "0");
    await waitFor(() => drained(fx.redis, fx.prefix), { what: "the replay" });
  });
  const orders = await db.sql<{ order_id: string; status: string; filled_qty: string }[]>`
    SELECT order_id, status, filled_qty::text FROM orders ORDER BY order_id`;
  assert.deepEqual(orders.map((o) => [o.order_id, o.status, fromScaled(toScaled(o.filled_qty))]), [
    ["o-1", "FILLED", "1"],
    ["o-2", "CANCELED", "0"],
  ]);
  const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM order_events`;
  assert.equal(n, events.length);
  const trades = await db
    .sql`SELECT trade_id FROM order_events WHERE order_id = 'o-1' AND trade_id IS NOT NULL`;
  assert.equal(trades.length, 2);
});
