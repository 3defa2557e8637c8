import assert from "node:assert/strict";
import { candleKeys, readCandles, selectCandles } from "@lib/candles";
import { type Candle, keys, streamKey, STREAMS, Ticker } from "@lib/contracts";
import { sampleExecutions } from "@lib/ledger";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { connectRedis, publishBatch } from "@lib/redis";
import { dbFixture, redisFixture, TEST_REDIS_URL, waitFor } from "@lib/testing";
import { aggregateTrades, sortCandles } from "./aggregator.ts";
import { retentionFor } from "./candle_store.ts";
import { startCandleService, WATERMARK_MARGIN_MS } from "./run.ts";

const T0 = Date.UTC(2026, 0, 1);
const NOW = T0 + 3_600_000 * 5; // long after the flow: every bucket has ended

async function withService<T>(
  fx: { redis: Awaited<ReturnType<typeof connectRedis>>; prefix: string },
  sql: Parameters<typeof startCandleService>[0]["sql"],
  fn: (s: ReturnType<typeof startCandleService>) => Promise<T>,
  extra: { tickerRollMs?: number } = {},
): Promise<T> {
  const tradeReader = await connectRedis(TEST_REDIS_URL);
  const tickReader = await connectRedis(TEST_REDIS_URL);
  const stop = new AbortController();
  const service = startCandleService({
    redis: fx.redis,
    tradeReader,
    tickReader,
    sql,
    log: createLogger("test", { level: "error" }),
    registry: new Registry(),
  }, {
    prefix: fx.prefix,
    consumer: "c1",
    batchSize: 200,
    blockMs: 100,
    streamMaxLen: 10_000,
    retention: retentionFor(100),
    indexCandles: true,
    flushIntervalMs: 50,
    flushBatch: 500,
    lagIntervalMs: 100,
    ...extra,
  }, stop.signal);
  try {
    return await fn(service);
  } finally {
    stop.abort();
    await service.done;
    await tradeReader.close();
    await tickReader.close();
  }
}

function comparable(cs: Candle[]) {
  return cs.map(({ closed: _c, ...rest }) => rest);
}

Deno.test("candle service: executions become candles in Redis and PostgreSQL, redeliveries change nothing", async () => {
  await using fx = await redisFixture("candles");
  await using db = await dbFixture();
  const flow = sampleExecutions({ count: 1500, maxGapMs: 400 }); // about 5 minutes of market time
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow);
  const last = flow.filter((e) => e.symbol === "BTC-USD").at(-1)!.seq;
  await withService(fx, db.sql, async (service) => {
    await waitFor(
      async () => Number(await fx.redis.hGet(candleKeys.tradeSeqs(fx.prefix), "BTC-USD")) === last,
      {
        what: "every BTC-USD trade applied",
      },
    );
    // the same executions again (a producer retry): nothing changes
    await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow.slice(0, 300));
    await waitFor(() => service.status().lag.executions?.lag === 0 && service.status().outbox === 0, {
      what: "the duplicates consumed and the outbox flushed",
    });
    await waitFor(async () => (await fx.redis.lLen(candleKeys.outbox(fx.prefix))) === 0);

    const expected = aggregateTrades(flow);
    for (const symbol of ["BTC-USD", "ETH-USD"]) {
      for (const tf of ["1s", "1m", "5m", "1h"] as const) {
        const want = expected.filter((c) => c.symbol === symbol && c.timeframe === tf);
        const got = await readCandles(fx.redis, db.sql, fx.prefix, {
          symbol,
          tf,
          from: T0,
          fill: false,
          limit: 1000,
          now: NOW,
        });
        assert.deepEqual(comparable(got), comparable(want.slice(0, 1000)), `${symbol} ${tf}`);
        assert.ok(got.every((c) => c.closed), "every bucket ended before NOW");
      }
      // every closed candle is in PostgreSQL too
      const closed = expected.filter((c) => c.symbol === symbol && c.timeframe === "1m").slice(0, -1);
      const inPg = await selectCandles(db.sql, { symbol, timeframe: "1m", source: "trade" }, {
        lo: 0,
        hi: NOW,
        limit: 1000,
      });
      assert.deepEqual(comparable(inPg), comparable(closed), `${symbol} 1m in PostgreSQL`);
    }
    const ticker = Ticker.parse(JSON.parse((await fx.redis.get(keys.ticker(fx.prefix, "BTC-USD")))!));
    const btc = flow.filter((e) => e.symbol === "BTC-USD");
    assert.equal(ticker.last, btc.at(-1)!.price);
    assert.equal(ticker.open24h, btc[0].price);
    assert.equal(ticker.trades24h, btc.length);
    assert.ok((await fx.redis.xLen(streamKey(fx.prefix, STREAMS.candles))) > 0);
  });
});

Deno.test("readCandles() serves old candles from PostgreSQL and recent ones from Redis, filling gaps", async () => {
  await using fx = await redisFixture("candles-read");
  await using db = await dbFixture();
  // three bursts with quiet minutes between them
  const flow = [
    ...sampleExecutions({ count: 40, symbols: ["BTC-USD"], start: T0 + 5_000, maxGapMs: 1000 }),
  ];
  const lastSeq = { "BTC-USD": 40 };
  flow.push(...sampleExecutions({ count: 40, symbols: ["BTC-USD"], start: T0 + 240_000, lastSeq, seed: 3 }));
  flow.push(
    ...sampleExecutions({
      count: 40,
      symbols: ["BTC-USD"],
      start: T0 + 600_000,
      lastSeq: { "BTC-USD": 80 },
      seed: 5,
    }),
  );
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow);
  await withService(fx, db.sql, async (service) => {
    await waitFor(() => service.status().lag.executions?.lag === 0 && service.status().outbox === 0, {
      what: "all consumed and flushed",
    });
    await waitFor(async () => (await fx.redis.lLen(candleKeys.outbox(fx.prefix))) === 0);
  });
  const expected = aggregateTrades(flow).filter((c) => c.timeframe === "1m");
  const query = { symbol: "BTC-USD", tf: "1m" as const, from: T0, to: T0 + 660_000, now: T0 + 630_000 };
  const fromBoth = await readCandles(fx.redis, db.sql, fx.prefix, query);
  // minutes 0..10: traded at 0, 4, 10; the rest are flat at the previous close; nothing after "now"
  assert.deepEqual(fromBoth.map((c) => (c.openTime - T0) / 60_000), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(
    fromBoth.filter((c) => c.trades > 0).map((c) => c.volume),
    expected.map((c) => c.volume),
  );
  const gap = fromBoth[2];
  assert.equal(gap.volume, "0");
  assert.equal(gap.open, expected[0].close);
  assert.equal(gap.high, expected[0].close);
  assert.equal(fromBoth.at(-1)!.closed, false, "the current bucket is still forming");

  // drop the Redis copies of the two older closed candles: PostgreSQL fills in, same answer
  await fx.redis.zRemRangeByScore(
    candleKeys.closed(fx.prefix, { symbol: "BTC-USD", timeframe: "1m", source: "trade" }),
    0,
    T0 + 300_000,
  );
  assert.deepEqual(await readCandles(fx.redis, db.sql, fx.prefix, query), fromBoth);
  // without the database only what Redis holds comes back
  const redisOnly = await readCandles(fx.redis, undefined, fx.prefix, { ...query, fill: false });
  assert.deepEqual(redisOnly.map((c) => (c.openTime - T0) / 60_000), [10]);
  // the latest N without a start: ends at the current bucket
  const lastThree = await readCandles(fx.redis, db.sql, fx.prefix, {
    symbol: "BTC-USD",
    tf: "1m",
    limit: 3,
    now: T0 + 630_000,
  });
  assert.deepEqual(lastThree.map((c) => (c.openTime - T0) / 60_000), [8, 9, 10]);
  // nothing is invented before the first trade
  const early = await readCandles(fx.redis, db.sql, fx.prefix, {
    ...query,
    from: T0 - 600_000,
    to: T0 + 60_000,
  });
  assert.deepEqual(early.map((c) => (c.openTime - T0) / 60_000), [0, 1]);
  // a range that starts long before the first trade counts its limit from the first candle
  const wide = await readCandles(fx.redis, db.sql, fx.prefix, { ...query, from: 0, limit: 3 });
  assert.deepEqual(wide.map((c) => (c.openTime - T0) / 60_000), [0, 1, 2]);
  const wideAll = await readCandles(fx.redis, db.sql, fx.prefix, { ...query, from: T0 - 86_400_000 });
  assert.deepEqual(wideAll, fromBoth);
  // a range with no candle at all, and one before the first trade, are empty
  assert.deepEqual(
    await readCandles(fx.redis, db.sql, fx.prefix, { ...query, from: 0, to: T0 - 60_000 }),
    [],
  );
  assert.deepEqual(sortCandles([...fromBoth]), fromBoth);

  // an aggregator that lags (or stopped) at minute 10 + 10 s: minute 10 may still get trades, so it
  // is not closed, nor is the flat minute 11, though the clock (minute 12) is past both
  const latest = (now: number) => readCandles(fx.redis, db.sql, fx.prefix, { ...query, to: undefined, now });
  const closedFlags = (cs: Candle[]) => cs.slice(-3).map((c) => [(c.openTime - T0) / 60_000, c.closed]);
  await fx.redis.hSet(candleKeys.watermark(fx.prefix), "trade", String(T0 + 610_000));
  assert.deepEqual(closedFlags(await latest(T0 + 730_000)), [[10, false], [11, false], [12, false]]);
  await fx.redis.hSet(candleKeys.watermark(fx.prefix), "trade", String(T0 + 730_000));
  assert.deepEqual(closedFlags(await latest(T0 + 730_000)), [[10, true], [11, true], [12, false]]);
});

Deno.test("candle service: the watermark follows the drained stream, and waits for a lagging engine", async () => {
  await using fx = await redisFixture("candles-watermark");
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, sampleExecutions({ count: 20, start: T0 }));
  // the engine has not applied a command of 5 s ago: its trades will carry that command's time
  const commands = streamKey(fx.prefix, STREAMS.orders);
  const pendingAt = Date.now() - 5_000;
  await fx.redis.xAdd(commands, `${pendingAt - 1}-0`, { type: "place" });
  await fx.redis.set(keys.checkpoint(fx.prefix), `${pendingAt - 1}-0`);
  const pending = await fx.redis.xAdd(commands, `${pendingAt}-0`, { type: "place" });
  const mark = () => fx.redis.hGet(candleKeys.watermark(fx.prefix), "trade").then((v) => v ? Number(v) : 0);
  await withService(fx, undefined, async () => {
    await waitFor(async () => await mark() > 0, { what: "a watermark" });
    await new Promise((r) => setTimeout(r, 300)); // a few more drains
    assert.equal(await mark(), pendingAt - WATERMARK_MARGIN_MS, "held at the unapplied command");
    await fx.redis.set(keys.checkpoint(fx.prefix), pending); // the engine caught up
    const before = Date.now();
    const caughtUp = await waitFor(async () => {
      const v = await mark();
      return v >= before - WATERMARK_MARGIN_MS ? v : undefined;
    }, { what: "the watermark past the start" });
    assert.ok(caughtUp <= Date.now() - WATERMARK_MARGIN_MS, "never ahead of what was drained");
  });
});

Deno.test("candle service: index candles are built from simulator ticks", async () => {
  await using fx = await redisFixture("candles-index");
  const ticks = Array.from({ length: 30 }, (_, i) => ({
    symbol: "ETH-USD",
    price: `${3200 + (i % 7)}.5`,
    delta: "0.001",
    volume: "1.25",
    ts: T0 + i * 300,
  }));
  await publishBatch(fx.redis, fx.prefix, STREAMS.ticks, ticks);
  await withService(fx, undefined, async (service) => {
    await waitFor(
      () => service.status().lag.ticks?.lag === 0 && (service.status().lag.ticks?.pending ?? 1) === 0,
      {
        what: "ticks consumed",
      },
    );
    // redelivered ticks (a second copy) are new entries; the cursor only skips entries already applied
  });
  const candles = await readCandles(fx.redis, undefined, fx.prefix, {
    symbol: "ETH-USD",
    tf: "1m",
    source: "index",
    from: T0,
    now: T0 + 10_000,
  });
  assert.equal(candles.length, 1);
  assert.equal(candles[0].source, "index");
  assert.equal(candles[0].trades, 30);
  assert.equal(candles[0].volume, "37.5");
  assert.equal(candles[0].open, "3200.5");
});

Deno.test("candle service: an execution whose numbers no candle column can hold is dead-lettered, not counted", async () => {
  await using fx = await redisFixture("candles");
  await using db = await dbFixture();
  const flow = sampleExecutions({ count: 300, maxGapMs: 400, symbols: ["BTC-USD"] });
  // a forged entry in the middle: a price far beyond numeric(38,18), with its own sequence number
  const at = 150;
  const forged = { ...flow[at], tradeId: `${flow[at].tradeId}x`, price: "1" + "0".repeat(38), quoteQty: "1" };
  const published = [...flow.slice(0, at), forged, ...flow.slice(at).map((e) => ({ ...e, seq: e.seq + 1 }))];
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, published);
  const last = published.at(-1)!.seq;
  await withService(fx, db.sql, async (service) => {
    await waitFor(
      async () => Number(await fx.redis.hGet(candleKeys.tradeSeqs(fx.prefix), "BTC-USD")) === last,
      { what: "every trade applied" },
    );
    await waitFor(() => service.status().outbox === 0, { what: "the outbox flushed to PostgreSQL" });
    const dead = (await fx.redis.xRange(`${streamKey(fx.prefix, STREAMS.executions)}:dead`, "-", "+")) ?? [];
    assert.equal(dead.length, 1);
    assert.match(dead[0].message.reason, /price .*numeric\(38,18\)/);
    const expected = aggregateTrades(published.filter((e) => e !== forged));
    const got = await readCandles(fx.redis, db.sql, fx.prefix, {
      symbol: "BTC-USD",
      tf: "1m",
      from: T0,
      fill: false,
      limit: 1000,
      now: NOW,
    });
    assert.deepEqual(comparable(got), comparable(expected.filter((c) => c.timeframe === "1m")));
  });
});

Deno.test("candle service: the 24h ticker of a symbol that stopped trading moves on with the clock", async () => {
  await using fx = await redisFixture("candles");
  // trades of long ago: by now they are all out of the 24 hours
  const flow = sampleExecutions({ count: 50, maxGapMs: 400, symbols: ["BTC-USD"] });
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow);
  const read = async () => {
    const text = await fx.redis.get(keys.ticker(fx.prefix, "BTC-USD"));
    return text === null ? undefined : Ticker.parse(JSON.parse(text));
  };
  await withService(fx, undefined, async () => {
    await waitFor(async () => (await read())?.volume24h === "0", { what: "the ticker moved on" });
    const t = (await read())!;
    assert.equal(t.last, flow.at(-1)!.price, "the last price stays");
    assert.deepEqual([t.trades24h, t.change24h, t.open24h], [0, "0", t.last]);
    assert.equal(t.ts, flow.at(-1)!.ts, "ts is still the time of the last trade");
  }, { tickerRollMs: 50 });
});
