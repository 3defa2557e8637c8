/**
 * CPU cost of the market simulator at scale: runs the real simulator loop (price models, default bot
 * population, ticks and bot commands written to Redis) for a bounded time against a throwaway prefix,
 * without a matching engine (the commands stay unconsumed), and reports the process's CPU time.
 *
 *   deno task bench:sim [--symbols 200] [--seconds 60] [--runs 3] [--interval 250] [--bots-x 1]
 *
 * `--bots-x N` multiplies every bot count of the default population (headroom check);
 * `--max-open-orders N` changes each bot's open-order budget (default 450).
 *
 * The engine's read models the simulator reads are seeded the way the engine writes them: 200
 * synthetic markets (S001-USD, ...) in `markets` and a funded wallet per bot in `wallets`.
 * Each run's prefix is deleted afterwards, also on Ctrl-C (SIGINT) or SIGTERM.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { keys, type MarketSpec, streamKey, STREAMS, type WalletView } from "@lib/contracts";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { connectRedis } from "@lib/redis";
import { type Cleanup, deletePrefixOnCleanup, TEST_REDIS_URL, uniquePrefix, withCleanup } from "@lib/testing";
import { BOT_KINDS, DEFAULT_POPULATION, KIND_TAG } from "../bots.ts";
import { startMarketSim } from "../runner.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    symbols: { type: "string", default: "200" },
    seconds: { type: "string", default: "60" },
    runs: { type: "string", default: "3" },
    interval: { type: "string", default: "250" },
    warmup: { type: "string", default: "5" },
    "bots-x": { type: "string", default: "1" },
    "max-open-orders": { type: "string", default: "450" },
  },
});
const SYMBOLS = Number(values.symbols);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const INTERVAL = Number(values.interval);
const WARMUP = Number(values.warmup);
const POPULATION = Object.fromEntries(
  BOT_KINDS.map((
    k,
  ) => [k, { ...DEFAULT_POPULATION[k], count: DEFAULT_POPULATION[k].count * Number(values["bots-x"]) }]),
) as typeof DEFAULT_POPULATION;
const REDIS_URL = Deno.env.get("REDIS_URL") ?? TEST_REDIS_URL;

function syntheticMarkets(count: number): MarketSpec[] {
  return Array.from({ length: count }, (_, k) => {
    const i = k + 1;
    const base = `S${String(i).padStart(3, "0")}`;
    return {
      symbol: `${base}-USD`,
      base,
      quote: "USD",
      tickSize: "0.01",
      stepSize: "0.001",
      minQty: "0.001",
      maxQty: "100000",
      minNotional: "1",
      status: "TRADING" as const,
      startPrice: String(10 + (i % 90)),
    };
  });
}

interface RunResult {
  /** getrusage of the process (node:process cpuUsage). */
  cpuPct: number;
  /** utime + stime from /proc/self/stat, every thread (V8 GC and I/O threads included). */
  procCpuPct: number;
  userMs: number;
  systemMs: number;
  wallMs: number;
  ticksPerSec: number;
  commandsPerSec: number;
  skippedSteps: number;
  loopP50Ms: number;
}

function quantileFromHistogram(text: string, name: string, q: number): number {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, "gm"))]
    .map((m) => [m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2])] as const);
  const total = buckets.at(-1)?.[1] ?? 0;
  const want = total * q;
  for (const [le, count] of buckets) if (count >= want) return le * 1000;
  return NaN;
}

async function once(cleanup: Cleanup): Promise<RunResult> {
  const prefix = uniquePrefix("simbench");
  // registered first: it runs once the simulator and the connections are closed
  const deleteKeys = deletePrefixOnCleanup(cleanup, prefix, REDIS_URL);
  const redis = await connectRedis(REDIS_URL);
  const controlReader = await connectRedis(REDIS_URL);
  const replyReader = await connectRedis(REDIS_URL);
  const closeConnections = cleanup.add(
    "redis connections",
    () => Promise.all([redis.close(), controlReader.close(), replyReader.close()]),
  );
  try {
    const markets = syntheticMarkets(SYMBOLS);
    await redis.hSet(
      keys.markets(prefix),
      Object.fromEntries(markets.map((m) => [m.symbol, JSON.stringify(m)])),
    );
    const wallets: Record<string, string> = {};
    for (const kind of BOT_KINDS) {
      for (let i = 1; i <= POPULATION[kind].count; i++) {
        const userId = `bench-bot-${KIND_TAG[kind]}-${i}`;
        const view: WalletView = {
          userId,
          balances: [
            { asset: "USD", free: "10000000", locked: "0" },
            ...markets.map((m) => ({ asset: m.base, free: "1000000", locked: "0" })),
          ],
          updatedAt: Date.now(),
        };
        wallets[userId] = JSON.stringify(view);
      }
    }
    await redis.hSet(keys.wallets(prefix), wallets);

    const registry = new Registry();
    const sim = await startMarketSim({
      redis,
      controlReader,
      replyReader,
      prefix,
      accounts: { userIdFor: (u) => Promise.resolve(`bench-${u}`) },
      log: createLogger("sim-bench", { level: "error" }),
      registry,
    }, {
      seed: "bench",
      intervalMs: INTERVAL,
      profile: "normal",
      bots: POPULATION,
      botParams: { maxOpenOrders: Number(values["max-open-orders"]) },
      startRunning: true,
    });
    const stopSim = cleanup.add("simulator", () => sim.stop());
    await new Promise((r) => setTimeout(r, WARMUP * 1000));
    const ticksKey = streamKey(prefix, STREAMS.ticks);
    const ordersKey = streamKey(prefix, STREAMS.orders);
    const info = async (key: string) => Number((await redis.xInfoStream(key))["entries-added"] ?? 0);
    const [t0, o0] = [await info(ticksKey), await info(ordersKey)];
    const skipped0 = registry.counter("sim_skipped_steps_total", "").get();
    const cpu0 = process.cpuUsage();
    const proc0 = procCpuMs();
    const wall0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const cpu = process.cpuUsage(cpu0);
    const procMs = procCpuMs() - proc0;
    const wallMs = performance.now() - wall0;
    const [t1, o1] = [await info(ticksKey), await info(ordersKey)];
    const metrics = registry.render();
    await stopSim();
    return {
      cpuPct: (cpu.user + cpu.system) / 1000 / wallMs * 100,
      procCpuPct: procMs / wallMs * 100,
      userMs: cpu.user / 1000,
      systemMs: cpu.system / 1000,
      wallMs,
      ticksPerSec: (t1 - t0) / (wallMs / 1000),
      commandsPerSec: (o1 - o0) / (wallMs / 1000),
      skippedSteps: registry.counter("sim_skipped_steps_total", "").get() - skipped0,
      loopP50Ms: quantileFromHistogram(metrics, "kalency_sim_loop_seconds", 0.5),
    };
  } finally {
    await closeConnections();
    await deleteKeys();
  }
}

/** utime + stime of the whole process (every thread), in ms, from /proc (Linux). */
function procCpuMs(): number {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await withCleanup(async (cleanup) => {
  const results: RunResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await once(cleanup);
    results.push(r);
    console.log(
      `run ${i + 1}: cpu ${r.cpuPct.toFixed(1)}% of one core (/proc: ${r.procCpuPct.toFixed(1)}%; user ${
        r.userMs.toFixed(0)
      } ms, sys ${r.systemMs.toFixed(0)} ms over ${(r.wallMs / 1000).toFixed(1)} s), ${
        r.ticksPerSec.toFixed(0)
      } ticks/s, ${
        r.commandsPerSec.toFixed(0)
      } commands/s, loop p50 <= ${r.loopP50Ms} ms, skipped steps ${r.skippedSteps}`,
    );
  }
  console.log(JSON.stringify({
    symbols: SYMBOLS,
    bots: Object.fromEntries(BOT_KINDS.map((k) => [k, POPULATION[k].count])),
    seconds: SECONDS,
    intervalMs: INTERVAL,
    runs: RUNS,
    medianCpuPct: median(results.map((r) => r.cpuPct)),
    medianProcCpuPct: median(results.map((r) => r.procCpuPct)),
    medianTicksPerSec: median(results.map((r) => r.ticksPerSec)),
    medianCommandsPerSec: median(results.map((r) => r.commandsPerSec)),
    loadAverage: Deno.loadavg(),
  }));
});
