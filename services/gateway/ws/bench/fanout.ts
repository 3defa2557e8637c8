/**
 * Gateway WebSocket fan-out benchmark (`deno task bench:ws`).
 *
 * Starts the market feed on loopback with a fresh key prefix on the local Redis, starts a separate
 * client process (fanout_clients.ts) that connects N WebSocket clients subscribed to
 * trades.BTC-USD and book.BTC-USD, publishes trades and book deltas to the streams at a fixed rate
 * (in 10 ms batches, as the engine writes them), and reports the messages per second the clients
 * received ("delivered") against the messages the stream entries published in the same window make
 * for those clients ("offered"), both over each client process's counting window. Trade latency
 * combines the samples of every client process. Every run is bounded in time; the keys are deleted afterwards, also on Ctrl-C (SIGINT) or
 * SIGTERM, which stop the client processes too.
 *
 * Options (all optional; `--clients 20` or `--clients=20`): --clients 1000, --rate 400 (stream entries
 * per second, half trades, half deltas), --seconds 8, --runs 3, --batch-ms 0 (a comma list runs each
 * value, e.g. 0,20), --procs 2 (client processes). An unknown option stops it with a message.
 */
import { type BookDelta, type Execution, STREAMS } from "@lib/contracts";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { connectRedis, publishBatch } from "@lib/redis";
import { type Cleanup, deletePrefixOnCleanup, withCleanup } from "@lib/testing";
import { Hono } from "hono";
import process from "node:process";
import { parseArgs } from "node:util";
import { createMarketFeed } from "../mod.ts";
import { combinedLatency, type LatencyHistogram, type Published, publishedBetween } from "./fanout_stats.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "1000" },
    rate: { type: "string", default: "400" },
    seconds: { type: "string", default: "8" },
    runs: { type: "string", default: "3" },
    "batch-ms": { type: "string", default: "0" },
    procs: { type: "string", default: "2" },
  },
});

const CLIENTS = Number(args.clients);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);
const BATCH_MS = args["batch-ms"].split(",").map(Number);
const PROCS = Number(args.procs);
const REDIS_URL = Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379";
const CLIENT_SCRIPT = new URL("./fanout_clients.ts", import.meta.url).pathname;

interface ClientReport {
  clients: number;
  messages: number;
  frames: number;
  seconds: number;
  /** The counting window, epoch ms. */
  windowStart: number;
  windowEnd: number;
  latencyHistogram: LatencyHistogram;
  latencyMs: { p50: number | null; p99: number | null };
  closedDuringRun: number;
  cpuPct: number;
}

function trade(seq: number, ts: number): Execution {
  return {
    tradeId: `bench-${seq}`,
    symbol: "BTC-USD",
    seq,
    price: "65000.12",
    qty: "0.0150",
    quoteQty: "975.0018",
    makerOrderId: `m-${seq}`,
    makerUserId: "bench-maker",
    takerOrderId: `t-${seq}`,
    takerUserId: "bench-taker",
    takerSide: seq % 2 ? "BUY" : "SELL",
    buyerUserId: "bench-taker",
    sellerUserId: "bench-maker",
    buyOrderId: `t-${seq}`,
    sellOrderId: `m-${seq}`,
    makerFee: "0",
    takerFee: "0.97",
    feeAsset: "USD",
    ts,
  };
}

function delta(seq: number, ts: number): BookDelta {
  const price = (65000 + (seq % 50) / 100).toFixed(2);
  return { symbol: "BTC-USD", seq, bids: [[price, seq % 7 ? "0.5" : "0"]], asks: [], ts };
}

function startClients(cleanup: Cleanup, url: string, n: number) {
  const child = cleanup.child(
    "client process",
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLIENT_SCRIPT, url, String(n), String(SECONDS), "trades.BTC-USD,book.BTC-USD"],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn(),
  );
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const nextLine = async (): Promise<string> => {
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("client process ended early");
      text += value;
    }
    const i = text.indexOf("\n");
    const line = text.slice(0, i);
    text = text.slice(i + 1);
    return line;
  };
  const writer = child.stdin.getWriter();
  return {
    ready: async () => {
      const line = await nextLine();
      if (line !== "READY") throw new Error(`unexpected client output: ${line}`);
    },
    go: () => writer.write(new TextEncoder().encode("GO\n")),
    report: async (): Promise<ClientReport> => JSON.parse(await nextLine()),
    done: async () => {
      await writer.close().catch(() => {});
      await lines.cancel().catch(() => {});
      await child.status;
    },
  };
}

async function run(cleanup: Cleanup, batchMs: number) {
  const prefix = `kbench:ws:${crypto.randomUUID().slice(0, 8)}`;
  // registered first: it runs once the publisher, the feed and the clients have stopped
  const deleteKeys = deletePrefixOnCleanup(cleanup, prefix, REDIS_URL);
  const redis = await connectRedis(REDIS_URL);
  const closeRedis = cleanup.add("redis connection", () => redis.close());
  const controller = new AbortController();
  const metrics = new Registry();
  const feed = await createMarketFeed({
    redisUrl: REDIS_URL,
    prefix,
    log: createLogger("bench", { level: "warn" }),
    metrics,
    authenticate: () => Promise.resolve(undefined),
    signal: controller.signal,
    options: { batchMs, maxPerAddress: 0 }, // every client comes from loopback
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    new Hono().route("/", feed.routes).fetch,
  );
  const closeServer = cleanup.add("feed and server", async () => {
    await feed.close();
    await server.shutdown();
  });
  const url = `ws://127.0.0.1:${server.addr.port}/v1/ws`;
  const per = Math.ceil(CLIENTS / PROCS);
  const procs = await Promise.all(
    Array.from({ length: PROCS }, (_, i) => startClients(cleanup, url, Math.min(per, CLIENTS - i * per))),
  );
  try {
    await Promise.all(procs.map((p) => p.ready()));
    // publish like the engine: a batch every 10 ms, catching up to RATE entries per second
    let seq = 0;
    let publishing = true;
    const published: Published[] = [];
    const t0 = performance.now();
    const publisher = (async () => {
      while (publishing && !cleanup.signal.aborted) {
        const due = Math.floor(((performance.now() - t0) / 1000) * RATE / 2);
        const ts = Date.now();
        const trades: Execution[] = [];
        const deltas: BookDelta[] = [];
        while (seq < due) {
          seq++;
          trades.push(trade(seq, ts));
          deltas.push(delta(seq, ts));
        }
        await Promise.all([
          publishBatch(redis, prefix, STREAMS.executions, trades, { maxLen: 10_000 }),
          publishBatch(redis, prefix, STREAMS.book, deltas, { maxLen: 10_000 }),
        ]);
        if (trades.length > 0) published.push({ ts, entries: trades.length + deltas.length });
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // after a signal the cleanup closes its connection; the failure then is expected
    publisher.catch(() => {});
    for (const p of procs) await p.go();
    // the clients measure from 1 s after GO; the server's CPU is sampled over the same window
    await new Promise((r) => setTimeout(r, 1000));
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    const reports = await Promise.all(procs.map((p) => p.report()));
    const cpu = process.cpuUsage(cpu0);
    const serverCpuPct = Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - w0)) * 100);
    publishing = false;
    await publisher;
    // per client process, over its own window: delivered = what its clients received; offered = the
    // entries published in that window times its clients (each entry goes to every client)
    const perSec = (f: (r: ClientReport) => number) => reports.reduce((s, r) => s + f(r) / r.seconds, 0);
    const latency = combinedLatency(reports.map((r) => r.latencyHistogram));
    return {
      batchMs,
      messagesPerSec: Math.round(perSec((r) => r.messages)),
      framesPerSec: Math.round(perSec((r) => r.frames)),
      offeredPerSec: Math.round(
        perSec((r) => publishedBetween(published, r.windowStart, r.windowEnd) * r.clients),
      ),
      latencyP50: latency.p50,
      latencyP99: latency.p99,
      latencySamples: latency.samples,
      dropped: reports.reduce((s, r) => s + r.closedDuringRun, 0),
      serverCpuPct,
      clientCpuPct: reports.map((r) => r.cpuPct).join("+"),
      fanoutMs: histogramMeanMs(metrics, "gateway_ws_fanout_batch_seconds"),
      streamLagMs: histogramMeanMs(metrics, "gateway_ws_stream_lag_seconds"),
    };
  } finally {
    await Promise.all(procs.map((p) => p.done()));
    await closeServer();
    await closeRedis();
    await deleteKeys();
  }
}

/** Mean of a histogram of the feed's registry, in ms (whole run, warm-up included). */
function histogramMeanMs(metrics: Registry, name: string): number {
  const lines = metrics.render().split("\n");
  const value = (suffix: string) =>
    Number(lines.find((l) => l.startsWith(`kalency_${name}_${suffix} `))?.split(" ")[1] ?? 0);
  const count = value("count");
  return count > 0 ? Math.round((value("sum") / count) * 10_000) / 10 : 0;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

await withCleanup(async (cleanup) => {
  console.log(
    `fan-out: ${CLIENTS} clients (${PROCS} client process${
      PROCS > 1 ? "es" : ""
    }), ${RATE} stream entries/s ` +
      `(trades + book deltas, each to every client), ${SECONDS} s measured after 1 s warm-up, ${RUNS} runs`,
  );
  for (const batchMs of BATCH_MS) {
    const results = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await run(cleanup, batchMs);
      results.push(r);
      console.log(
        `  batchMs=${batchMs} run ${
          i + 1
        }: ${r.messagesPerSec} msg/s delivered (offered ${r.offeredPerSec} over the same window), ` +
          `${r.framesPerSec} frames/s, trade latency p50 ${r.latencyP50} ms p99 ${r.latencyP99} ms ` +
          `(${r.latencySamples} samples from all client processes), ` +
          `clients closed ${r.dropped}, CPU server ${r.serverCpuPct}% clients ${r.clientCpuPct}%, ` +
          `server means: stream lag ${r.streamLagMs} ms, fan-out tick ${r.fanoutMs} ms`,
      );
    }
    console.log(
      `  batchMs=${batchMs} median: ${median(results.map((r) => r.messagesPerSec))} msg/s, ` +
        `${median(results.map((r) => r.framesPerSec))} frames/s, p50 ${
          median(results.map((r) => r.latencyP50 ?? 0))
        } ms, p99 ${median(results.map((r) => r.latencyP99 ?? 0))} ms, server means: stream lag ${
          median(results.map((r) => r.streamLagMs))
        } ms, fan-out tick ${median(results.map((r) => r.fanoutMs))} ms`,
    );
  }
});
