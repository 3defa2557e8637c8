/**
 * Ledger throughput into PostgreSQL, two ways, each run several times (the median is reported):
 *
 * - `store`: decoded executions -> LedgerStore.writeTrades (rows built, one statement per batch,
 *   `--concurrency` batches at once). The database side alone.
 * - `e2e`: executions already in the Redis stream -> the ledger writer's loops (read, decode,
 *   write, ack) until the group has nothing left. What the service sustains. The stream holds
 *   packed entries of `--pack` executions each, as the engine writes them when busy (one entry per
 *   committed batch); `--pack 1` gives one entry per execution.
 * - `events`: the same for order events (`--trades` of them), as the matching engine produces them
 *   from its benchmark command flow: `order_events` rows and the `orders` table's latest state. Each
 *   order placed through the gateway gives about two of them, so this path weighs on end-to-end order
 *   throughput more than the trades do.
 *
 * deno run -A services/ledger-writer/bench/throughput.ts [--trades 200000] [--batch 2000]
 *   [--concurrency 3] [--runs 3] [--mode store|e2e|events|both] [--pack 1000] [--via copy|insert]
 *
 * `--via insert` writes every batch with the INSERT statement instead of COPY, for comparison.
 * Each run's database and prefix are removed afterwards, also on Ctrl-C (SIGINT) or SIGTERM.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { type StreamDef, streamKey, STREAMS } from "@lib/contracts";
import type { z } from "zod";
import { sampleExecutions } from "@lib/ledger";
import { connectRedis, encodeEntry, groupLag, publishPacked } from "@lib/redis";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { CopyWriter } from "@lib/db";
import {
  backendCpuSince,
  type Cleanup,
  databaseBackendCpu,
  dbFixture,
  redisFixture,
  TEST_REDIS_URL,
  withCleanup,
} from "@lib/testing";
import { LedgerStore } from "../ledger_store.ts";
import { LEDGER_GROUP, startLedgerWriter } from "../run.ts";
import { commandFlow } from "../../matching-engine/command_flow.ts";
import { createEngine, defaultEngineSettings } from "../../matching-engine/engine.ts";
import { intake } from "../../matching-engine/intake.ts";
import type { OrderEvent } from "@lib/contracts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    trades: { type: "string", default: "200000" },
    batch: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "3" },
    runs: { type: "string", default: "3" },
    mode: { type: "string", default: "both" },
    pack: { type: "string", default: "1000" },
    via: { type: "string", default: "copy" },
  },
});
const TRADES = Number(values.trades);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const RUNS = Number(values.runs);
const PACK = Math.max(1, Number(values.pack));
if (values.via !== "copy" && values.via !== "insert") throw new Error("--via is copy or insert");
/** The COPY writer the service uses, unless `--via insert`. */
const copyWriter = (url: string) => values.via === "copy" ? new CopyWriter(url) : undefined;

interface Run {
  rate: number;
  /** CPU microseconds per trade: this process, and the database backends. */
  clientUs: number;
  serverUs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function storeRun(cleanup: Cleanup, run: number): Promise<Run> {
  await using db = await dbFixture({ cleanup });
  const copy = copyWriter(db.url);
  const store = new LedgerStore(db.sql, { consumer: LEDGER_GROUP, feeAccount: "kalency-fees", copy });
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
  // open every connection first, so the backends measured are the ones doing the work
  await Promise.all(Array.from({ length: CONCURRENCY + 1 }, () => db.sql`SELECT pg_sleep(0.05)`));
  const cpu0 = process.cpuUsage();
  const server0 = await databaseBackendCpu(db.sql, db.name);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < batches.length) {
      const b = batches[next++];
      await store.writeTrades("bench:stream:executions", b, b[b.length - 1].id);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const server = backendCpuSince(server0, await databaseBackendCpu(db.sql, db.name));
  await copy?.close();
  return {
    rate: TRADES / secs,
    clientUs: (cpu.user + cpu.system) / TRADES,
    serverUs: (server * 1e6) / TRADES,
  };
}

/**
 * Publishes `messages` packed on `stream`, runs the ledger writer's loops until its group has read
 * and acknowledged them all, and checks that `table` got one row each.
 */
async function writerRun<S extends StreamDef>(
  stream: S,
  messages: z.input<S["schema"]>[],
  table: "trade_ledger" | "order_events",
  cleanup: Cleanup,
): Promise<Run> {
  await using fx = await redisFixture("bench-ledger", { cleanup });
  await using db = await dbFixture({ cleanup });
  await publishPacked(fx.redis, fx.prefix, stream, messages, PACK);
  const readers = {
    executions: await connectRedis(TEST_REDIS_URL),
    wallet: await connectRedis(TEST_REDIS_URL),
    orderEvents: await connectRedis(TEST_REDIS_URL),
  };
  const closeReaders = cleanup.add("redis readers", async () => {
    for (const r of Object.values(readers)) await r.close();
  });
  const stop = new AbortController();
  const key = streamKey(fx.prefix, stream);
  const trades = table === "trade_ledger";
  await Promise.all(Array.from({ length: CONCURRENCY + 3 }, () => db.sql`SELECT pg_sleep(0.05)`));
  const cpu0 = process.cpuUsage();
  const server0 = await databaseBackendCpu(db.sql, db.name);
  const t0 = performance.now();
  const copy = copyWriter(db.url);
  const writer = startLedgerWriter({
    redis: fx.redis,
    readers,
    sql: db.sql,
    copy,
    log: createLogger("bench", { level: "error" }),
    registry: new Registry(),
  }, {
    prefix: fx.prefix,
    consumer: "bench",
    feeAccount: "kalency-fees",
    tradeBatch: BATCH,
    eventBatch: BATCH,
    tradeConcurrency: trades ? CONCURRENCY : 1,
    eventConcurrency: trades ? 1 : CONCURRENCY,
    blockMs: 100,
    retry: { initialMs: 50, maxMs: 1000 },
    lagIntervalMs: 60_000,
  }, stop.signal);
  const stopWriter = cleanup.add("ledger writer", async () => {
    stop.abort();
    await writer.done;
    await copy?.close();
  });
  let secs = 0;
  while (true) {
    const l = await groupLag(fx.redis, key, LEDGER_GROUP);
    if (l.lag === 0 && l.pending === 0) {
      secs = (performance.now() - t0) / 1000;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const cpu = process.cpuUsage(cpu0);
  const server = backendCpuSince(server0, await databaseBackendCpu(db.sql, db.name));
  await stopWriter();
  await closeReaders();
  const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${db.sql(table)}`;
  if (n !== messages.length) throw new Error(`expected ${messages.length} rows in ${table}, found ${n}`);
  return {
    rate: messages.length / secs,
    clientUs: (cpu.user + cpu.system) / messages.length,
    serverUs: (server * 1e6) / messages.length,
  };
}

function e2eRun(cleanup: Cleanup, run: number): Promise<Run> {
  const flow = sampleExecutions({
    count: TRADES,
    symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
    makerFeeBps: 2,
    takerFeeBps: 10,
    idPrefix: `E${run}`,
  });
  return writerRun(STREAMS.executions, flow, "trade_ledger", cleanup);
}

/** `count` order events, as the engine emits them for its benchmark command flow. */
function engineOrderEvents(count: number, run: number): OrderEvent[] {
  const settings = defaultEngineSettings();
  const engine = createEngine(settings);
  const flow = commandFlow({ seed: 7 + run, users: 1000, markets: settings.markets });
  const events: OrderEvent[] = [];
  for (let i = 0; events.length < count; i++) {
    const r = intake("bench", {
      id: `${1_764_118_000_000 + i}-0`,
      message: encodeEntry(STREAMS.orders, flow.next().value!),
    });
    if (r.ok) events.push(...engine.apply(r.command, r.meta).orderEvents);
  }
  return events.slice(0, count);
}

function eventsRun(cleanup: Cleanup, run: number): Promise<Run> {
  return writerRun(STREAMS.orderEvents, engineOrderEvents(TRADES, run), "order_events", cleanup);
}

await withCleanup(async (cleanup) => {
  const modes = values.mode === "both" ? ["store", "e2e"] : [values.mode!];
  console.log(
    `${TRADES} trades, batch ${BATCH}, concurrency ${CONCURRENCY}, ${RUNS} runs, ${PACK} executions a stream entry, ` +
      `trades by ${values.via === "copy" ? "COPY" : "INSERT"}`,
  );
  const load = () => Deno.loadavg()[0].toFixed(1);
  for (const mode of modes) {
    const runs: Run[] = [];
    const unit = mode === "events" ? "order events" : "trades";
    for (let r = 0; r < RUNS; r++) {
      const before = load();
      const run = mode === "store"
        ? await storeRun(cleanup, r)
        : mode === "events"
        ? await eventsRun(cleanup, r)
        : await e2eRun(cleanup, r);
      runs.push(run);
      console.log(
        `  ${mode} run ${r + 1}: ${Math.round(run.rate).toLocaleString("en")} ${unit}/s; CPU per ${
          unit.replace(/s$/, "")
        }: ` +
          `${run.clientUs.toFixed(1)} µs here, ${run.serverUs.toFixed(1)} µs in PostgreSQL (load ${before})`,
      );
    }
    console.log(
      `${mode}: median ${Math.round(median(runs.map((r) => r.rate))).toLocaleString("en")} ${unit}/s; ` +
        `CPU per ${unit.replace(/s$/, "")} ${median(runs.map((r) => r.clientUs)).toFixed(1)} µs here + ` +
        `${median(runs.map((r) => r.serverUs)).toFixed(1)} µs in PostgreSQL`,
    );
  }
});
