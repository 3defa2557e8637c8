/**
 * Restart with a big state: builds an engine holding N resting orders (1,000,000 by default, spread
 * over 2,000 users and the three default markets, none crossing), saves its snapshot to Redis the way
 * the process does, then measures (a) the in-process load + restore and (b) a real process restart
 * (`deno run main.ts` until `/healthz` answers 200), several times, and reports medians.
 *
 *   deno task bench:engine-restart [--orders 1000000] [--runs 3] [--compress true|false]
 * The snapshot's prefix is deleted and a started engine stopped at the end, on an error and on
 * Ctrl-C (SIGINT) or SIGTERM.
 * @module
 */
import { parseArgs } from "node:util";
import { keys } from "@lib/contracts";
import { fromSteps, toSteps } from "@lib/money";
import { connectRedis } from "@lib/redis";
import { type Cleanup, deletePrefixOnCleanup, freePort, TEST_REDIS_URL, withCleanup } from "@lib/testing";
import { createEngine, defaultEngineSettings, restoreEngine } from "../engine.ts";
import type { EngineSettings } from "../engine_api.ts";
import { loadSnapshot, saveSnapshot } from "../snapshot_store.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    orders: { type: "string", default: "1000000" },
    runs: { type: "string", default: "3" },
    compress: { type: "string", default: "true" },
    users: { type: "string", default: "2000" },
  },
});
const ORDERS = Number(args.orders);
const RUNS = Number(args.runs);
const COMPRESS = args.compress !== "false";
const USERS = Number(args.users);
const url = Deno.env.get("REDIS_URL") ?? TEST_REDIS_URL;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

// deno-lint-ignore no-console
const out = (line: string) => console.log(line);
const ms = (t: number) => `${Math.round(t)} ms`;
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The process must see the same settings: these env variables give them. */
const ENV = {
  KALENCY_MAX_OPEN_ORDERS: String(Math.ceil(ORDERS / USERS) + 10),
};
const settings: EngineSettings = {
  ...defaultEngineSettings(),
  maxOpenOrdersPerUser: Math.ceil(ORDERS / USERS) + 10,
};

/** Small quantities that clear each default market's minimum notional. */
const QTY: Record<string, string> = { "BTC-USD": "0.0002", "ETH-USD": "0.002", "BTC-ETH": "0.002" };

function buildState() {
  const engine = createEngine(settings);
  let id = 0;
  const meta = () => {
    id++;
    return { id: `1-${id}`, ts: 1_764_118_000_000 + Math.floor(id / 1000) };
  };
  for (let u = 0; u < USERS; u++) {
    engine.apply({ type: "openAccount", cmdId: `a${u}`, userId: `r${u}` }, meta());
  }
  const markets = settings.markets.map((m) => ({ m, mid: toSteps(m.startPrice, m.tickSize)! }));
  for (let i = 0; i < ORDERS; i++) {
    const { m, mid } = markets[i % markets.length];
    const buy = (i >> 1) % 2 === 0;
    // up to 5% away from the start price, never crossing: bids below, asks above
    const away = 1 + ((i * 7919) % Math.floor(mid * 0.05));
    const price = fromSteps(buy ? mid - away : mid + away, m.tickSize);
    const r = engine.apply({
      type: "place",
      cmdId: `p${i}`,
      userId: `r${i % USERS}`,
      symbol: m.symbol,
      side: buy ? "BUY" : "SELL",
      orderType: "LIMIT",
      timeInForce: "GTC",
      postOnly: false,
      stp: "EXPIRE_TAKER",
      price,
      qty: QTY[m.symbol] ?? m.minQty,
    }, meta());
    if (!r.reply.ok) throw new Error(`order ${i} was rejected: ${r.reply.message}`);
    if (i % 10_000 === 0) engine.takeChanges();
  }
  engine.takeChanges();
  return { engine, cursor: `1-${id}` };
}

async function processRestart(cleanup: Cleanup, prefix: string): Promise<number> {
  const port = freePort();
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      ...ENV,
      REDIS_URL: url,
      KALENCY_PREFIX: prefix,
      KALENCY_ENGINE_PORT: String(port),
      LOG_LEVEL: "warn",
    },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  // stopped by the cleanup if it is still running when this run fails or a signal comes
  cleanup.child("engine", child);
  let ready = 0;
  while (!ready) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      await res.body?.cancel();
      if (res.status === 200) ready = performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (!ready) await new Promise((r) => setTimeout(r, 20));
    if (performance.now() - t0 > 120_000) throw new Error("the engine did not become ready within 120 s");
  }
  child.kill("SIGTERM");
  const status = await child.status;
  if (status.code !== 0) throw new Error(`the engine exited with ${status.code}`);
  return ready;
}

await withCleanup(async (cleanup) => {
  const prefix = `kb:restart:${crypto.randomUUID().slice(0, 8)}`;
  deletePrefixOnCleanup(cleanup, prefix, url);
  const redis = await connectRedis(url);
  cleanup.add("redis connection", () => redis.close());
  out(
    `restart with ${ORDERS} resting orders (${USERS} users), snapshot ${COMPRESS ? "gzip" : "uncompressed"}`,
  );
  let t = performance.now();
  const { engine, cursor } = buildState();
  out(`built the state in ${ms(performance.now() - t)}`);

  t = performance.now();
  const snap = engine.snapshot();
  const tSnap = performance.now() - t;
  t = performance.now();
  const json = JSON.stringify(snap);
  const tJson = performance.now() - t;
  t = performance.now();
  const manifest = await saveSnapshot(redis, prefix, {
    cursor,
    lastCommandId: snap.lastCommandId,
    json,
    takenAt: Date.now(),
  }, { compress: COMPRESS });
  const tStore = performance.now() - t;
  await redis.set(keys.checkpoint(prefix), cursor);
  out(
    `save: engine.snapshot() ${ms(tSnap)} + JSON.stringify ${ms(tJson)} (both block the loop), ` +
      `store ${ms(tStore)} (compress + write, off the loop); JSON ${mb(manifest.jsonBytes)}, ` +
      `stored ${mb(manifest.bytes)} in ${manifest.chunks} chunk(s)`,
  );

  const loads: number[] = [];
  const restores: number[] = [];
  const processes: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    t = performance.now();
    const loaded = await loadSnapshot(redis, prefix);
    const tLoad = performance.now() - t;
    t = performance.now();
    restoreEngine(settings, loaded!.snapshot);
    const tRestore = performance.now() - t;
    const tProcess = await processRestart(cleanup, prefix);
    loads.push(tLoad);
    restores.push(tRestore);
    processes.push(tProcess);
    out(
      `run ${run}: load (GET + gunzip + JSON.parse) ${ms(tLoad)}, restoreEngine ${ms(tRestore)}; ` +
        `process start to /healthz 200: ${ms(tProcess)}`,
    );
  }
  out(
    `median: load ${ms(median(loads))}, restore ${ms(median(restores))}, ` +
      `process restart ${ms(median(processes))} over ${RUNS} runs`,
  );
});
