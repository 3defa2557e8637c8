/**
 * End-to-end candle throughput: executions already in the Redis stream -> the aggregator's loops as
 * the service runs them (read, decode, apply to every timeframe, one MULTI per batch, ack; closed
 * candles to PostgreSQL, as with the default KALENCY_CANDLES_HISTORY=true) until the group has
 * nothing left, run several times (the median is reported). Compare with the engine's trade rate to
 * see that it keeps up.
 *
 * Each run uses a throwaway prefix and a migrated throwaway database, with the service's default
 * settings. After it, the 1m candles (closed ones from PostgreSQL, forming ones from Redis) are
 * checked against a direct computation from the executions fed (trade count and volume sums, then
 * every bucket's OHLC); a run that differs reports no speed and the benchmark exits 1. The prefix
 * and database are removed afterwards, also on Ctrl-C (SIGINT) or SIGTERM.
 *
 * deno run -A services/candle-aggregator/bench/throughput.ts [--trades 200000] [--batch 2000] [--runs 3]
 *   [--pack 1000]  (executions per stream entry, as the engine packs them when busy)
 */
import { parseArgs } from "node:util";
import { candleKeys, selectCandles } from "@lib/candles";
import { type Candle, streamKey, STREAMS } from "@lib/contracts";
import { connectDb } from "@lib/db";
import { sampleExecutions } from "@lib/ledger";
import { connectRedis, groupLag, publishPacked } from "@lib/redis";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { type Cleanup, dbFixture, redisFixture, TEST_REDIS_URL, withCleanup } from "@lib/testing";
import { loadState } from "../candle_store.ts";
import { CandleConfig } from "../config.ts";
import { CANDLE_GROUP, serviceOptionsFrom, startCandleService } from "../run.ts";
import { candleDifferences, expectedMinuteCandles } from "./check.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    trades: { type: "string", default: "200000" },
    batch: { type: "string" },
    runs: { type: "string", default: "3" },
    /** Executions per stream entry, as the engine packs them (1: one entry each). */
    pack: { type: "string", default: "1000" },
  },
});
const TRADES = Number(values.trades);
const RUNS = Number(values.runs);
const PACK = Math.max(1, Number(values.pack));

interface Run {
  /** Trades per second from the stream into the candles in Redis. */
  rate: number;
  /** Seconds from the start until PostgreSQL held every closed candle. */
  historySeconds: number;
  differences: string[];
}

async function run(cleanup: Cleanup, r: number): Promise<Run> {
  // registered first, so they are removed after the service and its connections are stopped
  await using fx = await redisFixture("bench-candles", { cleanup });
  await using db = await dbFixture({ cleanup });
  // the service's settings as shipped (history on), on the throwaway prefix and database
  const config = CandleConfig.parse({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    KALENCY_PREFIX: fx.prefix,
  });
  if (!config.KALENCY_CANDLES_HISTORY) throw new Error("KALENCY_CANDLES_HISTORY is off by default?");
  const batch = values.batch ? Number(values.batch) : config.KALENCY_CANDLES_BATCH;
  const flow = sampleExecutions({
    count: TRADES,
    symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
    maxGapMs: 20,
    idPrefix: `B${r}`,
  });
  await publishPacked(fx.redis, fx.prefix, STREAMS.executions, flow, PACK);
  const tradeReader = await connectRedis(TEST_REDIS_URL);
  const tickReader = await connectRedis(TEST_REDIS_URL);
  const sql = connectDb(db.url, { max: 2 });
  const closeConnections = cleanup.add("connections", async () => {
    await tradeReader.close();
    await tickReader.close();
    await sql.end({ timeout: 5 });
  });
  const stop = new AbortController();
  const key = streamKey(fx.prefix, STREAMS.executions);
  const t0 = performance.now();
  const service = startCandleService({
    redis: fx.redis,
    tradeReader,
    tickReader,
    sql,
    log: createLogger("bench", { level: "error" }),
    registry: new Registry(),
  }, {
    // the shipped settings, with this run's prefix and batch size
    ...serviceOptionsFrom(config),
    prefix: fx.prefix,
    consumer: "bench",
    batchSize: batch,
    lagIntervalMs: 60_000,
  }, stop.signal);
  const stopService = cleanup.add("candle service", async () => {
    stop.abort();
    await service.done;
  });
  let secs = 0;
  while (true) {
    const l = await groupLag(fx.redis, key, CANDLE_GROUP);
    if (l.lag === 0 && l.pending === 0) {
      secs = (performance.now() - t0) / 1000;
      break;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  // the closed candles reach PostgreSQL through the outbox, emptied after each write
  while ((await fx.redis.lLen(candleKeys.outbox(fx.prefix))) > 0) {
    await new Promise((res) => setTimeout(res, 20));
  }
  const historySeconds = (performance.now() - t0) / 1000;
  await stopService();
  await closeConnections();

  const stored = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM candles`;
  const candles: Candle[] = [];
  const symbols = [...new Set(flow.map((e) => e.symbol))];
  for (const symbol of symbols) {
    candles.push(
      ...await selectCandles(db.sql, { symbol, timeframe: "1m", source: "trade" }, {
        lo: 0,
        hi: Date.UTC(2100, 0, 1),
        limit: 1_000_000,
      }),
    );
  }
  const closedKeys = new Set(candles.map((c) => `${c.symbol} ${c.openTime}`));
  const forming = (await loadState(fx.redis, fx.prefix, "trade")).forming
    .filter((c) => c.timeframe === "1m" && !closedKeys.has(`${c.symbol} ${c.openTime}`));
  const differences = candleDifferences(expectedMinuteCandles(flow), [...candles, ...forming]);
  if (stored[0].n === 0) differences.unshift("no candle was written to PostgreSQL");
  console.log(
    `  run ${r + 1}: ${stored[0].n} candles in PostgreSQL (${candles.length} closed 1m), ` +
      `${forming.length} forming 1m in Redis`,
  );
  return { rate: TRADES / secs, historySeconds, differences };
}

await withCleanup(async (cleanup) => {
  console.log(`${TRADES} executions, ${PACK} a stream entry, ${RUNS} runs, the service's default settings`);
  const runs: Run[] = [];
  let wrong = false;
  for (let r = 0; r < RUNS; r++) {
    const result = await run(cleanup, r);
    runs.push(result);
    if (result.differences.length > 0) {
      wrong = true;
      console.log(
        `  run ${r + 1}: the 1m candles DIFFER from the trades fed; no speed reported:\n    ` +
          result.differences.join("\n    "),
      );
      continue;
    }
    console.log(
      `  run ${r + 1}: ${Math.round(result.rate).toLocaleString("en")} trades/s into the candles in Redis; ` +
        `every closed candle in PostgreSQL after ${result.historySeconds.toFixed(2)} s; ` +
        `1m candles match the trades fed`,
    );
  }
  if (wrong) {
    console.log("the candles were wrong in at least one run: no median reported");
    Deno.exitCode = 1;
    return;
  }
  const rates = runs.map((r) => r.rate).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  console.log(
    `median ${
      Math.round(median).toLocaleString("en")
    } trades/s (stream -> candles in Redis, all timeframes; ` +
      `closed candles to PostgreSQL)`,
  );
});
