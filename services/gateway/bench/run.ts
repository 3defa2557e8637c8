/**
 * Gateway REST benchmark: brings up the matching engine, candle aggregator, ledger writer and a
 * gateway on loopback under a throwaway prefix and database, then drives them with wrk:
 *   - place-order end to end (POST /v1/orders, answered after the engine's reply)
 *   - public market-data reads (book, trades, tickers, markets)
 * Each scenario gets a warm-up, then `--runs` measured runs; the medians are printed as a table.
 * Throughput counts successful (2xx) answers only; a run with any non-2xx answer or socket error is
 * flagged on its line and in the table, and the benchmark then ends with a warning.
 *
 *   deno task bench:gateway [--duration 10] [--connections 64] [--threads 2] [--runs 3]
 *                           [--scenario all|orders|reads] [--no-consumers] [--profile DIR]
 * The CPU column gives each part's CPU time per request, read from /proc and Redis' INFO: the
 * gateway, engine, candle aggregator, ledger writer, Redis and PostgreSQL (when it runs on this
 * machine) for the orders; the gateway and Redis for the reads. PostgreSQL counts only the backends
 * of the benchmark's database. Redis cannot tell its clients' CPU apart: its figure is the whole
 * server's, which includes any other work on it, so it means something only on a quiet machine.
 * Ctrl-C (SIGINT) or SIGTERM stops the services and wrk and removes the prefix and the database.
 * With `--profile DIR`, the services run under the V8 inspector and one extra (unmeasured) run of each
 * scenario is CPU-profiled in every service it loads: DIR/<scenario>-<service>.cpuprofile and a text
 * summary beside each.
 * @module
 */
import { parseArgs } from "node:util";
import { connectDb } from "@lib/db";
import {
  backendCpuSince,
  type Cleanup,
  databaseBackendCpu,
  dbFixture,
  deletePrefixOnCleanup,
  processCpuSeconds,
  redisServerCpuSeconds,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  withCleanup,
} from "@lib/testing";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { connectRedis, encodeEntry, type RedisClient } from "@lib/redis";
import { freePort } from "@lib/testing";
import { type Spawned, spawnEngine, spawnGateway, spawnService } from "../testing.ts";
import { startProfile, summarize } from "./profile.ts";
import { runErrors, successful, successfulPerSec, summarizeRuns, type WrkResult } from "./wrk_result.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "64" },
    threads: { type: "string", default: "2" },
    runs: { type: "string", default: "3" },
    warmup: { type: "string", default: "3" },
    scenario: { type: "string", default: "all" },
    "engine-orders": { type: "string", default: "20000" },
    "no-consumers": { type: "boolean", default: false },
    "no-ws": { type: "boolean", default: false },
    gateways: { type: "string", default: "1" },
    users: { type: "string", default: "8" },
    profile: { type: "string" },
  },
});

const HERE = new URL(".", import.meta.url).pathname;

async function wrk(
  cleanup: Cleanup,
  script: string,
  url: string,
  seconds: number,
  env: Record<string, string> = {},
): Promise<WrkResult> {
  const child = new Deno.Command("wrk", {
    args: [
      `-t${args.threads}`,
      `-c${args.connections}`,
      `-d${seconds}s`,
      "--latency",
      "-s",
      `${HERE}${script}`,
      url,
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await cleanup.child("wrk", child).output();
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith("RESULT "));
  if (!out.success || !line) {
    throw new Error(`wrk failed: ${text}\n${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(line.slice("RESULT ".length));
}

/**
 * The engine alone: `count` crossing orders XADDed in pipelines of 500, timed until the engine's
 * checkpoint reaches the last one. Shows how much of the end-to-end figure the engine allows.
 */
async function engineDirect(redis: RedisClient, prefix: string, count: number): Promise<number> {
  const key = streamKey(prefix, STREAMS.orders);
  const replyTo = streamKey(prefix, "replies:bench-direct");
  const setup = redis.multi();
  for (let u = 0; u < 8; u++) {
    setup.xAdd(
      key,
      "*",
      encodeEntry(STREAMS.orders, { type: "openAccount", cmdId: `o${u}`, userId: `direct${u}`, replyTo }),
    );
  }
  await setup.execAsPipeline();
  const t0 = performance.now();
  for (let b = 0; b < count / 500; b++) {
    const m = redis.multi();
    for (let i = 0; i < 500; i++) {
      const n = b * 500 + i;
      m.xAdd(
        key,
        "*",
        encodeEntry(STREAMS.orders, {
          type: "place",
          cmdId: `d${n}`,
          replyTo,
          userId: `direct${n % 8}`,
          symbol: "ETH-USD",
          // each user alternates sides, so nobody runs out of either asset
          side: Math.floor(n / 8) % 2 ? "SELL" : "BUY",
          orderType: "LIMIT",
          price: "3200",
          qty: "0.01",
          stp: "NONE",
        }),
      );
    }
    await m.execAsPipeline();
  }
  const last = (await redis.xRevRange(key, "+", "-", { COUNT: 1 }))?.[0]?.id;
  while ((await redis.get(keys.checkpoint(prefix))) !== last) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return count / ((performance.now() - t0) / 1000);
}

/**
 * Waits (at most two minutes) until the engine has applied every command and every consumer group
 * has read and acknowledged every output, so that one scenario's backlog (the ledger and candles
 * catching up after the order runs) does not eat into the next scenario's measurement.
 */
async function settle(redis: RedisClient, prefix: string): Promise<void> {
  const ordersKey = streamKey(prefix, STREAMS.orders);
  const outputs = [STREAMS.executions, STREAMS.orderEvents, STREAMS.wallet].map((s) => streamKey(prefix, s));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const last = (await redis.xRevRange(ordersKey, "+", "-", { COUNT: 1 }))?.[0]?.id;
    let busy = last !== undefined && (await redis.get(keys.checkpoint(prefix))) !== last;
    for (const key of outputs) {
      if (busy) break;
      const groups = await redis.xInfoGroups(key).catch(() => []);
      busy = groups.some((g) => Number(g.pending) > 0 || Number(g.lag ?? 0) > 0);
    }
    if (!busy) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log("warning: the consumers did not catch up within two minutes");
}

/** CPU seconds a process has used so far (it must still run). */
async function cpuSeconds(pid: number): Promise<number> {
  const seconds = await processCpuSeconds(pid);
  if (seconds === undefined) throw new Error(`process ${pid} is gone`);
  return seconds;
}

/** Something whose CPU time the benchmark reads before and after each run. */
interface CpuMeter {
  name: string;
  /** Takes the first reading; the function it returns gives the CPU seconds used since. */
  start(): Promise<() => Promise<number>>;
}

/** A meter of a running total of CPU seconds (a process's, the Redis server's). */
function totalMeter(name: string, total: () => Promise<number>): CpuMeter {
  return {
    name,
    async start() {
      const before = await total();
      return async () => await total() - before;
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(cleanup: Cleanup) {
  const prefix = `bench:gw:${crypto.randomUUID().slice(0, 8)}`;
  // cleanups run last registered first: the services stop, then the prefix goes, then the database
  // the backends' CPU is read on a connection to another database, so that it is not counted
  const admin = connectDb(TEST_DATABASE_URL, { max: 1 });
  cleanup.add("admin connection", () => admin.end({ timeout: 5 }));
  const { name: dbName, url: databaseUrl } = await dbFixture({ cleanup });
  deletePrefixOnCleanup(cleanup, prefix);
  const redis = await connectRedis(TEST_REDIS_URL);
  cleanup.add("redis connection", () => redis.close());
  // with --profile, every service listens for the V8 inspector on a port of its own
  const inspected = new Map<Spawned, { name: string; port: number }>();
  const names = new Map<Spawned, string>();
  const inspect = (name: string) => {
    const port = args.profile ? freePort() : undefined;
    return {
      denoArgs: port ? [`--inspect=127.0.0.1:${port}`] : [],
      note: (p: Spawned) => {
        names.set(p, name);
        if (port) inspected.set(p, { name, port });
      },
    };
  };
  const engineInspect = inspect("engine");
  const engine = await spawnEngine(prefix, {}, { denoArgs: engineInspect.denoArgs, cleanup });
  engineInspect.note(engine);
  const consumers: Spawned[] = [];
  if (!args["no-consumers"]) {
    const root = new URL("../../", import.meta.url);
    for (
      const [dir, portVar] of [["candle-aggregator", "KALENCY_CANDLES_PORT"], [
        "ledger-writer",
        "KALENCY_LEDGER_PORT",
      ]]
    ) {
      const main = new URL(`${dir}/main.ts`, root);
      try {
        await Deno.stat(main);
      } catch {
        continue;
      }
      const ins = inspect(dir);
      const p = await spawnService(main, { KALENCY_PREFIX: prefix, DATABASE_URL: databaseUrl }, {
        portVar,
        anyHealth: true,
        denoArgs: ins.denoArgs,
        cleanup,
      });
      ins.note(p);
      consumers.push(p);
    }
  }
  // with --gateways N, N processes share one port (SO_REUSEPORT) and the kernel spreads connections
  const gwEnv = {
    KALENCY_RATE_LIMIT: "false",
    ...(args["no-ws"] ? { KALENCY_WS: "false" } : {}),
    ...(Number(args.gateways) > 1 ? { KALENCY_REUSE_PORT: "true" } : {}),
  };
  const gwInspect = inspect("gateway");
  const gw = await spawnGateway(prefix, databaseUrl, gwEnv, { denoArgs: gwInspect.denoArgs, cleanup });
  gwInspect.note(gw);
  const gateways = [gw];
  for (let i = 1; i < Number(args.gateways); i++) {
    gateways.push(await spawnGateway(prefix, databaseUrl, gwEnv, { port: gw.port, cleanup }));
    names.set(gateways[i], `gateway ${i + 1}`);
  }

  const tokens: string[] = [];
  for (let i = 0; i < Number(args.users); i++) {
    const r = await fetch(`${gw.url}/v1/auth/signup`, {
      method: "POST",
      body: JSON.stringify({ username: `bench${i}`, password: "bench-password" }),
    });
    if (r.status !== 201) throw new Error(`signup: ${r.status} ${await r.text()}`);
    tokens.push((await r.json()).accessToken);
  }

  const scenarios: {
    name: string;
    short: string;
    script: string;
    url: string;
    env: Record<string, string>;
    /** Processes to profile with --profile. */
    profiled?: Spawned[];
    cpu: CpuMeter[];
  }[] = [];
  const meter = (p: Spawned): CpuMeter => totalMeter(names.get(p) ?? "server", () => cpuSeconds(p.pid));
  // Redis INFO cpu is the whole server's: every client counts, not only this benchmark's
  const sharedMeters: CpuMeter[] = [totalMeter("Redis (whole server)", () => redisServerCpuSeconds(redis))];
  // only the backends of this benchmark's database (none readable: PostgreSQL is not on this machine)
  if ((await databaseBackendCpu(admin, dbName)).size > 0) {
    sharedMeters.push({
      name: "PostgreSQL",
      async start() {
        const before = await databaseBackendCpu(admin, dbName);
        return async () => backendCpuSince(before, await databaseBackendCpu(admin, dbName));
      },
    });
  }
  if (args.scenario === "all" || args.scenario === "orders") {
    scenarios.push({
      name: "place order (POST /v1/orders, end to end)",
      short: "orders",
      script: "place_orders.lua",
      url: gw.url,
      env: { TOKENS: tokens.join(",") },
      profiled: [...gateways, engine, ...consumers],
      cpu: [...[...gateways, engine, ...consumers].map(meter), ...sharedMeters],
    });
  }
  let readShape: { bytes: number; headers: number } | undefined;
  if (args.scenario === "all" || args.scenario === "reads") {
    // some trades and resting orders so the reads return real data
    await wrk(cleanup, "place_orders.lua", gw.url, 1, { TOKENS: tokens.join(","), PRICE: "64000" });
    // the average answer of the read mix, for a reference server shaped the same way
    const paths = [
      "/v1/markets/BTC-USD/book",
      "/v1/markets/BTC-USD/trades?limit=50",
      "/v1/tickers",
      "/v1/markets/ETH-USD/book?depth=10",
      "/v1/markets",
    ];
    let bytes = 0;
    let headers = 0;
    for (const p of paths) {
      const r = await fetch(`${gw.url}${p}`);
      bytes += (await r.arrayBuffer()).byteLength;
      headers += [...r.headers].length;
    }
    readShape = { bytes: Math.round(bytes / paths.length), headers: Math.round(headers / paths.length) };
    console.log(`read mix: answers average ${readShape.bytes} bytes and ${readShape.headers} headers`);
    scenarios.push({
      name: "public market data (book, trades, tickers, markets)",
      short: "reads",
      script: "market_reads.lua",
      url: gw.url,
      env: {},
      profiled: gateways,
      cpu: [...gateways.map(meter), sharedMeters[0]],
    });
  }
  // the machine's ceiling right now: a plain Deno server, measured the same way
  const hello = await spawnService(new URL("./hello_server.ts", import.meta.url), {}, {
    portVar: "HELLO_PORT",
    cleanup,
  });
  scenarios.push({
    name: "reference: plain Deno.serve, no framework",
    short: "hello",
    script: "hello.lua",
    url: hello.url,
    env: {},
    cpu: [meter(hello)],
  });
  if (readShape) {
    // the same, answering bodies and headers the size of the read mix's (content-type, date and
    // content-length come on top of HELLO_HEADERS, as they do for the gateway)
    const shaped = await spawnService(new URL("./hello_server.ts", import.meta.url), {
      HELLO_BYTES: String(readShape.bytes),
      HELLO_HEADERS: String(Math.max(0, readShape.headers - 3)),
    }, { portVar: "HELLO_PORT", cleanup });
    scenarios.push({
      name: `reference: plain Deno.serve, ${readShape.bytes}-byte answers with ${readShape.headers} headers`,
      short: "hello-shaped",
      script: "hello.lua",
      url: shaped.url,
      env: {},
      cpu: [meter(shaped)],
    });
  }

  const rows: string[] = [];
  /** Scenarios with a run that had non-2xx answers or socket errors. */
  const flagged: string[] = [];
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).trim();
  for (const s of scenarios) {
    await settle(redis, prefix);
    await wrk(cleanup, s.script, s.url, Number(args.warmup), s.env);
    const targets = (s.profiled ?? []).filter((p) => inspected.has(p));
    if (args.profile && targets.length > 0) {
      // a run of its own: sampling slows the processes, so it is not one of the measured runs
      const profiling = await Promise.all(targets.map((p) => startProfile(inspected.get(p)!.port)));
      await wrk(cleanup, s.script, s.url, Number(args.duration), s.env);
      await Deno.mkdir(args.profile, { recursive: true });
      for (let i = 0; i < targets.length; i++) {
        const profile = await profiling[i].stop();
        const file = `${args.profile}/${s.short}-${inspected.get(targets[i])!.name}`;
        await Deno.writeTextFile(`${file}.cpuprofile`, JSON.stringify(profile));
        await Deno.writeTextFile(`${file}.txt`, summarize(profile, 60) + "\n");
        console.log(`profile of ${s.short}: ${file}.cpuprofile (.txt: summary)`);
      }
    }
    const results: WrkResult[] = [];
    const cpuPerReq: number[][] = [];
    for (let i = 0; i < Number(args.runs); i++) {
      const since = await Promise.all(s.cpu.map((m) => m.start()));
      const r = await wrk(cleanup, s.script, s.url, Number(args.duration), s.env);
      const used = await Promise.all(since.map((f) => f()));
      cpuPerReq.push(used.map((u) => u * 1e6 / Math.max(1, successful(r))));
      results.push(r);
      const errors = runErrors(r);
      console.log(
        `${s.name} run ${i + 1}: ${Math.round(successfulPerSec(r))} successful req/s, ` +
          `p50 ${(r.p50Us / 1000).toFixed(1)} ms, p99 ${(r.p99Us / 1000).toFixed(1)} ms, ` +
          `non-2xx ${r.non2xx}, socket errors ${r.socketErrors}, CPU µs/request ${
            cpuPerReq[i].map((x, j) => `${s.cpu[j].name} ${x.toFixed(0)}`).join(" + ")
          }${errors ? ` -- ${errors}: this run is not valid` : ""}`,
      );
    }
    const cpu = s.cpu.map((m, j) => `${m.name} ${median(cpuPerReq.map((c) => c[j])).toFixed(0)}`).join(
      " + ",
    );
    const summary = summarizeRuns(results);
    if (summary.flag) flagged.push(`${s.short}: ${summary.flag}`);
    rows.push(
      `| ${s.name}${summary.flag ? ` (**${summary.flag}**)` : ""} | ${
        Math.round(summary.okPerSec).toLocaleString("en-US")
      } | ${(median(results.map((r) => r.p50Us)) / 1000).toFixed(1)} | ${
        (median(results.map((r) => r.p99Us)) / 1000).toFixed(1)
      } | ${summary.non2xx} / ${summary.socketErrors} | ${
        summary.perRun.map((x) => Math.round(x)).join(" / ")
      } | ${cpu} |`,
    );
  }
  if (args.scenario === "all" || args.scenario === "orders") {
    const perRun: number[] = [];
    for (let i = 0; i < Number(args.runs); i++) {
      await settle(redis, prefix);
      perRun.push(await engineDirect(redis, prefix, Number(args["engine-orders"])));
      console.log(`engine alone run ${i + 1}: ${Math.round(perRun[i])} commands/s`);
    }
    rows.push(
      `| reference: engine alone (${args["engine-orders"]} orders XADDed in pipelines, no HTTP) | ${
        Math.round(median(perRun)).toLocaleString("en-US")
      } | | | | ${perRun.map((x) => Math.round(x)).join(" / ")} | |`,
    );
  }
  console.log(
    `\nwrk -t${args.threads} -c${args.connections} -d${args.duration}s, ${args.runs} runs, medians; ` +
      `load average at start: ${load}`,
  );
  console.log(
    "| scenario | successful req/s | p50 ms | p99 ms | non-2xx / socket errors | runs (successful req/s) | " +
      "CPU µs/successful request |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
  console.log(
    "CPU: each process's own; PostgreSQL: the backends of this benchmark's database only; " +
      "Redis: the whole server's (INFO cpu cannot tell clients apart), so other work on it counts too: " +
      "meaningful on a quiet machine only",
  );
  if (flagged.length > 0) {
    console.log(
      `\nWARNING: requests failed, so these figures are not valid: ${flagged.join("; ")}. ` +
        "Throughput above counts successful (2xx) answers only.",
    );
  }
}

if (import.meta.main) await withCleanup(main);
