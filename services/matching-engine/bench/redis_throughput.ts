/**
 * Matching engine throughput through Redis: pre-fills the command stream of a unique prefix with N
 * realistic commands, starts the engine loop (the same EngineRunner main.ts runs) and measures until
 * the committed checkpoint reaches the last command. Reports commands/s per run and the median.
 *
 *   deno task bench:engine-redis [--commands 200000] [--runs 3] [--batch 500[,2000,...]] [--users 1000]
 *                                [--reply-ratio 0.1] [--seed 7] [--writers resp,node-redis]
 *                                [--reader resp|node-redis]
 * Each run uses a prefix of its own and deletes it afterwards, also on Ctrl-C (SIGINT) or SIGTERM.
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import {
  type BatchConnection,
  connectRedis,
  encodeEntry,
  nodeRedisStreamReader,
  type RedisClient,
  RespBatchConnection,
  RespStreamReader,
} from "@lib/redis";
import {
  type Cleanup,
  deletePrefixOnCleanup,
  redisServerCpuSeconds,
  TEST_REDIS_URL,
  withCleanup,
} from "@lib/testing";
import { commandFlow } from "../command_flow.ts";
import { createEngine, defaultEngineSettings, restoreEngine } from "../engine.ts";
import { intake } from "../intake.ts";
import { createEngineMetrics, EngineRunner } from "../run.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    commands: { type: "string", default: "200000" },
    runs: { type: "string", default: "3" },
    batch: { type: "string", default: "500" },
    users: { type: "string", default: "1000" },
    "reply-ratio": { type: "string", default: "0.1" },
    seed: { type: "string", default: "7" },
    /** Which batch writer(s) to run, alternating: resp (the engine's), node-redis (for comparison). */
    writers: { type: "string", default: "resp" },
    /** How the engine reads its commands: resp (its own reader) or node-redis (for comparison). */
    reader: { type: "string", default: "resp" },
  },
});
const N = Number(args.commands);
const RUNS = Number(args.runs);
const BATCHES = args.batch.split(",").map(Number);
const USERS = Number(args.users);
const REPLY_RATIO = Number(args["reply-ratio"]);
const SEED = Number(args.seed);
const WRITERS = args.writers.split(",");
const url = Deno.env.get("REDIS_URL") ?? TEST_REDIS_URL;

// deno-lint-ignore no-console
const out = (line: string) => console.log(line);

async function prefill(redis: RedisClient, prefix: string): Promise<string> {
  const settings = defaultEngineSettings();
  const key = streamKey(prefix, STREAMS.orders);
  const flow = commandFlow({
    seed: SEED,
    users: USERS,
    markets: settings.markets,
    replyTo: "replies:bench",
    replyRatio: REPLY_RATIO,
  });
  let last = "";
  let multi = redis.multi();
  let queued = 0;
  for (let i = 0; i < N; i++) {
    multi.addCommand([
      "XADD",
      key,
      "*",
      ...Object.entries(encodeEntry(STREAMS.orders, flow.next().value!)).flat(),
    ]);
    if (++queued === 5000 || i === N - 1) {
      const ids = await multi.execAsPipeline() as unknown as string[];
      last = ids[ids.length - 1];
      multi = redis.multi();
      queued = 0;
    }
  }
  return last;
}

/** The same MULTI/EXEC through node-redis (one promise and one encoding per command), for comparison. */
async function nodeRedisBatches(): Promise<BatchConnection> {
  const client = await connectRedis(url);
  return {
    async exec(commands) {
      const multi = client.multi();
      for (const c of commands) multi.addCommand(c as string[]);
      const replies = await multi.exec() as unknown[];
      return { errors: [], last: replies[replies.length - 1] as string | null };
    },
    close: () => void client.close(),
  };
}

async function oneRun(
  cleanup: Cleanup,
  run: number,
  writer: string,
  batch: number,
): Promise<{ rate: number; seconds: number; batches: number; commitP50: number }> {
  const prefix = `kb:engine:${crypto.randomUUID().slice(0, 8)}`;
  // registered first, so it runs after the connections and the engine loop are closed
  const deleteKeys = deletePrefixOnCleanup(cleanup, prefix, url);
  const filler = await connectRedis(url);
  const readerClient = args.reader === "node-redis" ? await connectRedis(url) : undefined;
  const reader = readerClient ? nodeRedisStreamReader(readerClient) : new RespStreamReader(url);
  const aux = await connectRedis(url);
  const closeConnections = cleanup.add("redis connections", async () => {
    await filler.close();
    reader.close();
    await readerClient?.close();
    await aux.close();
  });
  try {
    const last = await prefill(filler, prefix);
    const registry = new Registry();
    const metrics = createEngineMetrics(registry);
    const runner = await EngineRunner.start({
      connectBatches: () => writer === "node-redis" ? nodeRedisBatches() : RespBatchConnection.connect(url),
      reader,
      aux,
      factory: { createEngine, restoreEngine },
      settings: defaultEngineSettings(),
      log: createLogger("bench", { level: "warn" }),
      metrics,
    }, {
      prefix,
      batchSize: batch,
      blockMs: 100,
      snapshotIntervalMs: 10_000,
      snapshotEvery: 1_000_000,
      snapshot: {},
      outputs: { streamMaxLen: 1_000_000, replyMaxLen: 10_000, closedOrderTtlSeconds: 7 * 86400 },
      commandRetentionMs: 0,
      commandMaxLen: 0,
    });
    const stop = new AbortController();
    const redisCpu0 = await redisServerCpuSeconds(aux);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const loop = runner.run(stop.signal);
    const stopLoop = cleanup.add("engine loop", async () => {
      stop.abort();
      await loop;
    });
    while ((await aux.get(keys.checkpoint(prefix))) !== last) await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const redisCpu = await redisServerCpuSeconds(aux) - redisCpu0;
    await stopLoop();
    const rendered = registry.render();
    const batches = Number(/kalency_engine_batch_size_count (\d+)/.exec(rendered)?.[1] ?? 0);
    const commitP50 = histogramMedian(rendered, "kalency_engine_batch_commit_seconds");
    const applySum = Number(/kalency_engine_batch_apply_seconds_sum (\S+)/.exec(rendered)?.[1] ?? 0);
    const rate = N / seconds;
    out(
      `run ${run} (${writer}, batch ${batch}): ${N} commands in ${seconds.toFixed(2)} s = ${
        Math.round(rate)
      } commands/s ` +
        `(${batches} batches; decode + apply + encode ${applySum.toFixed(1)} s on the loop; ` +
        `median commit ${(commitP50 * 1000).toFixed(0)} ms; CPU per command: this process ${
          ((cpu.user + cpu.system) / N).toFixed(1)
        } µs, the Redis server ${(redisCpu * 1e6 / N).toFixed(1)} µs)`,
    );
    return { rate, seconds, batches, commitP50 };
  } finally {
    await closeConnections();
    await deleteKeys();
  }
}

/** The bucket bound where a Prometheus histogram passes half its count. */
function histogramMedian(text: string, name: string): number {
  const count = Number(new RegExp(`${name}_count (\\d+)`).exec(text)?.[1] ?? 0);
  for (const m of text.matchAll(new RegExp(`${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, "g"))) {
    if (Number(m[2]) >= count / 2) return Number(m[1]);
  }
  return NaN;
}

/** The same commands through intake + engine.apply only: the ceiling without any Redis I/O. */
function inMemoryRate(): number {
  const settings = defaultEngineSettings();
  const flow = commandFlow({
    seed: SEED,
    users: USERS,
    markets: settings.markets,
    replyTo: "replies:bench",
    replyRatio: REPLY_RATIO,
  });
  const entries = Array.from({ length: N }, (_, i) => ({
    id: `${1_764_118_000_000 + Math.floor(i / 100)}-${i % 100}`,
    message: encodeEntry(STREAMS.orders, flow.next().value!),
  }));
  const engine = createEngine(settings);
  const t0 = performance.now();
  for (const e of entries) {
    const r = intake("bench", e);
    if (r.ok) engine.apply(r.command, r.meta);
  }
  engine.takeChanges();
  return N / ((performance.now() - t0) / 1000);
}

await withCleanup(async (cleanup) => {
  out(`engine through Redis: ${N} commands, ${USERS} users, reply ratio ${REPLY_RATIO}`);
  out(`in memory (decode + apply, no Redis): ${Math.round(inMemoryRate())} commands/s`);
  // variants alternate run by run, so they share the same background noise
  const variants = WRITERS.flatMap((writer) => BATCHES.map((batch) => ({ writer, batch })));
  const rates = new Map<string, number[]>(variants.map((v) => [`${v.writer}, batch ${v.batch}`, []]));
  for (let i = 1; i <= RUNS; i++) {
    for (const v of variants) {
      rates.get(`${v.writer}, batch ${v.batch}`)!.push((await oneRun(cleanup, i, v.writer, v.batch)).rate);
    }
  }
  for (const [w, list] of rates) {
    list.sort((a, b) => a - b);
    out(`median (${w}): ${Math.round(list[Math.floor(list.length / 2)])} commands/s over ${RUNS} runs`);
  }
});
