import assert from "node:assert/strict";
import { fromScaled, readCandles, toScaled } from "@lib/candles";
import { streamKey, STREAMS } from "@lib/contracts";
import { sampleExecutions } from "@lib/ledger";
import { connectRedis, groupLag, publishBatch } from "@lib/redis";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { dbFixture, freePort, redisFixture, TEST_REDIS_URL, waitFor } from "@lib/testing";
import { retentionFor } from "./candle_store.ts";
import { CANDLE_GROUP, startCandleService } from "./run.ts";

const LEDGER_MAIN = new URL("../ledger-writer/main.ts", import.meta.url).pathname;

Deno.test("every 1m candle's volume equals the sum of the ledger's quantities in that minute", async () => {
  await using fx = await redisFixture("candles-ledger");
  await using db = await dbFixture();
  const T0 = Date.UTC(2026, 0, 1, 12);
  const flow = sampleExecutions({
    count: 2000,
    start: T0 + 7,
    maxGapMs: 300,
    symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
  });
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow);

  // the ledger writer as its own process (a service never imports another); the aggregator in-process
  const ledger = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", LEDGER_MAIN],
    env: {
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: db.url,
      KALENCY_PREFIX: fx.prefix,
      KALENCY_LEDGER_PORT: String(freePort()),
      LOG_LEVEL: "error",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const tradeReader = await connectRedis(TEST_REDIS_URL);
  const tickReader = await connectRedis(TEST_REDIS_URL);
  const stop = new AbortController();
  const service = startCandleService({
    redis: fx.redis,
    tradeReader,
    tickReader,
    sql: db.sql,
    log: createLogger("test", { level: "error" }),
    registry: new Registry(),
  }, {
    prefix: fx.prefix,
    consumer: "c1",
    batchSize: 500,
    blockMs: 100,
    streamMaxLen: 10_000,
    retention: retentionFor(100),
    indexCandles: false,
    flushIntervalMs: 50,
    flushBatch: 1000,
    lagIntervalMs: 100,
  }, stop.signal);
  try {
    const key = streamKey(fx.prefix, STREAMS.executions);
    await waitFor(async () => {
      for (const g of [CANDLE_GROUP, "ledger-writer"]) {
        const l = await groupLag(fx.redis, key, g);
        if (l.lag !== 0 || l.pending !== 0) return false;
      }
      return true;
    }, { timeoutMs: 30_000, what: "both consumers done" });

    const sums = await db.sql<{ symbol: string; minute: Date; volume: string; n: number }[]>`
      SELECT symbol, date_trunc('minute', executed_at) AS minute, sum(qty)::text AS volume, count(*)::int AS n
      FROM trade_ledger GROUP BY 1, 2 ORDER BY 1, 2`;
    assert.ok(sums.length >= 3 * 4, "the flow spans several minutes");
    for (const symbol of ["BTC-USD", "ETH-USD", "BTC-ETH"]) {
      const candles = await readCandles(fx.redis, db.sql, fx.prefix, {
        symbol,
        tf: "1m",
        from: T0,
        fill: false,
        now: T0 + 86_400_000,
      });
      const ledger = sums.filter((s) => s.symbol === symbol);
      assert.deepEqual(
        candles.map((c) => [c.openTime, c.volume, c.trades]),
        ledger.map((s) => [s.minute.getTime(), fromScaled(toScaled(s.volume)), s.n]),
        symbol,
      );
    }
  } finally {
    stop.abort();
    await service.done;
    await tradeReader.close();
    await tickReader.close();
    ledger.kill("SIGTERM");
    assert.equal((await ledger.status).code, 0);
  }
});
