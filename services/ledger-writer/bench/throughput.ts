/**
 * Ledger throughput into PostgreSQL, two ways, each run several times (the median is reported):
 *
 * - `store`: decoded executions -> LedgerStore.writeTrades (rows built, one statement per batch,
 *   `--concurrency` batches at once). The database side alone.
 * - `e2e`: executions already in the Redis stream -> the ledger writer's loops (read, decode,
 *   write, ack) until the group has nothing left. What the service sustains.
 *
 * deno run -A services/ledger-writer/bench/throughput.ts [--trades 200000] [--batch 5000]
 *   [--concurrency 2] [--runs 3] [--mode store|e2e|both]
 */
import { parseArgs } from "node:util";
import { streamKey, STREAMS } from "@lib/contracts";
import { groupLag, sampleExecutions } from "@lib/ledger";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { connectRedis, publishBatch } from "@lib/redis";
import { dbFixture, redisFixture, TEST_REDIS_URL } from "@lib/testing";
import { LedgerStore } from "../ledger_store.ts";
import { LEDGER_GROUP, startLedgerWriter } from "../run.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    trades: { type: "string", default: "200000" },
    batch: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "2" },
    runs: { type: "string", default: "3" },
    mode: { type: "string", default: "both" },
  },
});
const TRADES = Number(values.trades);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const RUNS = Number(values.runs);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function storeRun(run: number): Promise<number> {
  await using db = await dbFixture();
  const store = new LedgerStore(db.sql, { consumer: LEDGER_GROUP, feeAccount: "kalency-fees" });
  const flow = sampleExecutions({
    count: TRADES,
    symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
    makerFeeBps: 2,
    takerFeeBps: 10,
    idPrefix: `S${run}`,
  });
  const batches: { id: string; value: (typeof flow)[number] }[][] = [];
  for (let i = 0; i < flow.length; i += BATCH) {
    batches.push(flow.slice(i, i + BATCH).map((value, j) => ({ id: `${1 + i + j}-0`, value })));
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < batches.length) {
      const b = batches[next++];
      await store.writeTrades("bench:stream:executions", b, b[b.length - 1].id);
    }
  }));
  return TRADES / ((performance.now() - t0) / 1000);
}

async function e2eRun(run: number): Promise<number> {
  await using fx = await redisFixture("bench-ledger");
  await using db = await dbFixture();
  const flow = sampleExecutions({
    count: TRADES,
    symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
    makerFeeBps: 2,
    takerFeeBps: 10,
    idPrefix: `E${run}`,
  });
  for (let i = 0; i < flow.length; i += 5000) {
    await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow.slice(i, i + 5000));
  }
  const readers = {
    executions: await connectRedis(TEST_REDIS_URL),
    wallet: await connectRedis(TEST_REDIS_URL),
    orderEvents: await connectRedis(TEST_REDIS_URL),
  };
  const stop = new AbortController();
  const key = streamKey(fx.prefix, STREAMS.executions);
  const t0 = performance.now();
  const writer = startLedgerWriter({
    redis: fx.redis,
    readers,
    sql: db.sql,
    log: createLogger("bench", { level: "error" }),
    registry: new Registry(),
  }, {
    prefix: fx.prefix,
    consumer: "bench",
    feeAccount: "kalency-fees",
    tradeBatch: BATCH,
    eventBatch: 2000,
    tradeConcurrency: CONCURRENCY,
    eventConcurrency: 1,
    blockMs: 100,
    retry: { initialMs: 50, maxMs: 1000 },
    lagIntervalMs: 60_000,
  }, stop.signal);
  let secs = 0;
  while (true) {
    const l = await groupLag(fx.redis, key, LEDGER_GROUP);
    if (l.lag === 0 && l.pending === 0) {
      secs = (performance.now() - t0) / 1000;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  stop.abort();
  await writer.done;
  for (const r of Object.values(readers)) await r.close();
  const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM trade_ledger`;
  if (n !== TRADES) throw new Error(`expected ${TRADES} rows, found ${n}`);
  return TRADES / secs;
}

const modes = values.mode === "both" ? ["store", "e2e"] : [values.mode!];
console.log(`${TRADES} trades, batch ${BATCH}, concurrency ${CONCURRENCY}, ${RUNS} runs`);
for (const mode of modes) {
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    rates.push(mode === "store" ? await storeRun(r) : await e2eRun(r));
    console.log(`  ${mode} run ${r + 1}: ${Math.round(rates[r]).toLocaleString("en")} trades/s`);
  }
  console.log(`${mode}: median ${Math.round(median(rates)).toLocaleString("en")} trades/s`);
}
