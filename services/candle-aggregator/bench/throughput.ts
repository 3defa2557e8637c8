/**
 * End-to-end candle throughput: executions already in the Redis stream -> the aggregator's loop (read,
 * decode, apply to every timeframe, one MULTI per batch, ack) until the group has nothing left, run
 * several times (the median is reported). Compare with the engine's trade rate to see that it keeps up.
 *
 * deno run -A services/candle-aggregator/bench/throughput.ts [--trades 200000] [--batch 2000] [--runs 3]
 *   [--pack 1000]  (executions per stream entry, as the engine packs them when busy)
 */
import { parseArgs } from "node:util";
import { streamKey, STREAMS } from "@lib/contracts";
import { sampleExecutions } from "@lib/ledger";
import { connectRedis, groupLag, publishPacked } from "@lib/redis";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { redisFixture, TEST_REDIS_URL } from "@lib/testing";
import { retentionFor } from "../candle_store.ts";
import { CANDLE_GROUP, startCandleService } from "../run.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    trades: { type: "string", default: "200000" },
    batch: { type: "string", default: "2000" },
    runs: { type: "string", default: "3" },
    /** Executions per stream entry, as the engine packs them (1: one entry each). */
    pack: { type: "string", default: "1000" },
  },
});
const TRADES = Number(values.trades);
const BATCH = Number(values.batch);
const RUNS = Number(values.runs);
const PACK = Math.max(1, Number(values.pack));

async function run(r: number): Promise<number> {
  await using fx = await redisFixture("bench-candles");
  const flow = sampleExecutions({
    count: TRADES,
    symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
    maxGapMs: 20,
    idPrefix: `B${r}`,
  });
  await publishPacked(fx.redis, fx.prefix, STREAMS.executions, flow, PACK);
  const tradeReader = await connectRedis(TEST_REDIS_URL);
  const tickReader = await connectRedis(TEST_REDIS_URL);
  const stop = new AbortController();
  const key = streamKey(fx.prefix, STREAMS.executions);
  const t0 = performance.now();
  const service = startCandleService({
    redis: fx.redis,
    tradeReader,
    tickReader,
    log: createLogger("bench", { level: "error" }),
    registry: new Registry(),
  }, {
    prefix: fx.prefix,
    consumer: "bench",
    batchSize: BATCH,
    blockMs: 100,
    streamMaxLen: 100_000,
    retention: retentionFor(2000),
    indexCandles: false,
    flushIntervalMs: 500,
    flushBatch: 2000,
    lagIntervalMs: 60_000,
  }, stop.signal);
  let secs = 0;
  while (true) {
    const l = await groupLag(fx.redis, key, CANDLE_GROUP);
    if (l.lag === 0 && l.pending === 0) {
      secs = (performance.now() - t0) / 1000;
      break;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  stop.abort();
  await service.done;
  await tradeReader.close();
  await tickReader.close();
  return TRADES / secs;
}

console.log(`${TRADES} executions, batch ${BATCH}, ${RUNS} runs`);
const rates: number[] = [];
for (let r = 0; r < RUNS; r++) {
  rates.push(await run(r));
  console.log(`  run ${r + 1}: ${Math.round(rates[r]).toLocaleString("en")} trades/s`);
}
const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)];
console.log(
  `median ${Math.round(median).toLocaleString("en")} trades/s (stream -> candles in Redis, all timeframes)`,
);
