/**
 * Memory and snapshot cost of a large state: 1,000,000 resting orders (20 markets, 10,000 users,
 * one order in ten with a clientOrderId), then snapshot -> JSON text -> parse -> restore.
 *
 *   deno run -A --v8-flags=--expose-gc services/matching-engine/bench/memory.ts [--orders N] [--json]
 *
 * With --expose-gc the heap is measured after a full collection; without it the figures include
 * garbage. RSS is the whole process (the V8 heap, code, and the JSON text while it exists). Times
 * are wall clock; `cpu*Ms` are the process's CPU time over the same span (all threads, so GC
 * helpers count), which a busy shared machine disturbs less.
 * @module
 */
import process from "node:process";
import type { MarketSpec } from "@lib/contracts";
import { createEngine, defaultEngineSettings, inspectCore, restoreEngine } from "../engine.ts";
import type { EngineSettings } from "../engine_api.ts";
import { BUY, GTC, LIMIT, SELL, STP_EXPIRE_TAKER } from "../core/model.ts";
import { assertCoreInvariants } from "../core/invariants.ts";

const MARKETS = 20;
const USERS = 10_000;

function args(): { orders: number; json: boolean } {
  const a = Deno.args;
  const i = a.indexOf("--orders");
  return { orders: i >= 0 ? Number(a[i + 1]) : 1_000_000, json: a.includes("--json") };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const mb = (n: number) => Math.round(n / 1e5) / 10;

function settings(): EngineSettings {
  const markets: MarketSpec[] = [];
  for (let i = 0; i < MARKETS; i++) {
    markets.push({
      symbol: `M${i}-USD`,
      base: `M${i}`,
      quote: "USD",
      tickSize: "0.01",
      stepSize: "0.001",
      minQty: "0.001",
      maxQty: "100000",
      minNotional: "0",
      status: "TRADING",
      startPrice: "1000",
    });
  }
  const start: Record<string, string> = { USD: "100000" };
  for (let i = 0; i < MARKETS; i++) start[`M${i}`] = "1000";
  return {
    ...defaultEngineSettings(),
    assets: [{ code: "USD", decimals: 6 }],
    markets,
    startBalances: start,
    maxOpenOrdersPerUser: 1_000,
  };
}

function main(): void {
  const { orders, json } = args();
  const s = settings();
  gc();
  const heap0 = Deno.memoryUsage().heapUsed;
  const engine = createEngine(s);
  const core = inspectCore(engine);
  const users = [];
  for (let u = 0; u < USERS; u++) {
    core.begin(1_764_118_000_000);
    if (core.openAccount(`user-${u}`) !== 0) throw new Error(core.rejectMessage);
    users.push(core.userIndex.get(`user-${u}`)!);
  }
  const t0 = performance.now();
  for (let i = 0; i < orders; i++) {
    const m = core.markets[i % MARKETS]!;
    const side = (i >> 1) % 2 === 0 ? BUY : SELL;
    // Bids below the start price, asks above: nothing crosses, so every order rests.
    const away = 1 + ((i * 7919) % 4000);
    const price = side === BUY ? m.startPrice - away : m.startPrice + away;
    core.begin(1_764_118_000_000 + i);
    const r = core.place(
      users[i % USERS]!,
      m,
      side,
      LIMIT,
      GTC,
      false,
      STP_EXPIRE_TAKER,
      price,
      1 + (i % 50),
      0,
      i % 10 === 0 ? `cid-${i}` : undefined,
    );
    if (r !== 0) throw new Error(`order ${i}: ${core.rejectMessage}`);
  }
  const buildMs = performance.now() - t0;
  gc();
  const heap1 = Deno.memoryUsage().heapUsed;
  const rss1 = Deno.memoryUsage().rss;
  if (core.orders.size !== orders) throw new Error(`${core.orders.size} resting, expected ${orders}`);

  const c0 = process.cpuUsage();
  const s0 = performance.now();
  const snapshot = engine.snapshot();
  const s1 = performance.now();
  const text = JSON.stringify(snapshot);
  const s2 = performance.now();
  const c2 = process.cpuUsage(c0);
  const rssPeak = Deno.memoryUsage().rss;
  const parsed = JSON.parse(text);
  const s3 = performance.now();
  const restored = restoreEngine(s, parsed);
  const s4 = performance.now();
  const c4 = process.cpuUsage(c0);
  const restoredCore = inspectCore(restored);
  if (restoredCore.orders.size !== orders) throw new Error("restore lost orders");
  assertCoreInvariants(restoredCore);

  const result = {
    restingOrders: orders,
    markets: MARKETS,
    users: USERS,
    buildMs: Math.round(buildMs),
    heapMb: mb(heap1 - heap0),
    heapBytesPerOrder: Math.round((heap1 - heap0) / orders),
    rssMb: mb(rss1),
    rssPeakMb: mb(rssPeak),
    snapshotMs: Math.round(s1 - s0),
    stringifyMs: Math.round(s2 - s1),
    snapshotJsonMb: mb(text.length),
    parseMs: Math.round(s3 - s2),
    restoreMs: Math.round(s4 - s3),
    totalSnapshotRestoreMs: Math.round(s4 - s0),
    cpuSnapshotAndStringifyMs: Math.round((c2.user + c2.system) / 1000),
    cpuTotalSnapshotRestoreMs: Math.round((c4.user + c4.system) / 1000),
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === "function",
  };
  // deno-lint-ignore no-console
  console.log(json ? JSON.stringify(result) : result);
}

if (import.meta.main) main();
