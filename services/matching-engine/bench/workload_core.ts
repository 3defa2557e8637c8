/**
 * Runs the standard engine workload (the shared `workload.mjs` stream) through the pure core, with
 * wallets, risk checks and internal event buffers on, and summarises the result in the reference's
 * terms so a run can be checked before its speed is reported.
 * @module
 */
import { createHash } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Core } from "../core/core.ts";
import { BUY, GTC, LIMIT, MARKET, SELL, STP_NONE, type User } from "../core/model.ts";
import type { Market } from "../core/model.ts";

/** One operation of the workload, as `operations()` yields it. */
export interface WorkloadOp {
  seq: number;
  op: "L" | "M" | "C";
  user: number;
  side: "B" | "S" | "";
  price: number;
  qty: number;
  target: number;
}

/** The workload in columns, generated before any timing. */
export interface Ops {
  count: number;
  op: Uint8Array; // 0 limit, 1 market, 2 cancel
  user: Int32Array;
  side: Uint8Array;
  price: Float64Array;
  qty: Float64Array;
  target: Int32Array;
}

export const OP_LIMIT = 0;
export const OP_MARKET = 1;
export const OP_CANCEL = 2;

/**
 * Where `workload.mjs` is: KALENCY_BENCH_WORKLOAD (a relative path is taken from the working
 * directory), else `../shared/bench/workload.mjs` beside the repo root.
 */
export function workloadPath(env: string | undefined, cwd = Deno.cwd()): string {
  if (env) return isAbsolute(env) ? env : resolve(cwd, env);
  // This file is <repo>/services/matching-engine/bench/workload_core.ts.
  return new URL("../../../../shared/bench/workload.mjs", import.meta.url).pathname;
}

/** Loads `operations` from workload.mjs, or throws a message saying where it looked. */
export async function loadWorkload(
  path: string,
): Promise<{ operations: (opts: { variant: string }) => Iterable<WorkloadOp> }> {
  try {
    await Deno.stat(path);
  } catch {
    throw new Error(
      `standard workload not found at ${path}; set KALENCY_BENCH_WORKLOAD to the path of workload.mjs`,
    );
  }
  return await import(pathToFileURL(path).href);
}

export function collectOps(ops: Iterable<WorkloadOp>): Ops {
  const list: WorkloadOp[] = [];
  for (const o of ops) list.push(o);
  const n = list.length;
  const out: Ops = {
    count: n,
    op: new Uint8Array(n),
    user: new Int32Array(n),
    side: new Uint8Array(n),
    price: new Float64Array(n),
    qty: new Float64Array(n),
    target: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const o = list[i]!;
    if (o.seq !== i + 1) throw new Error(`workload seq ${o.seq} at position ${i}: expected ${i + 1}`);
    out.op[i] = o.op === "L" ? OP_LIMIT : o.op === "M" ? OP_MARKET : OP_CANCEL;
    out.user[i] = o.user;
    out.side[i] = o.side === "S" ? SELL : BUY;
    out.price[i] = o.price;
    out.qty[i] = o.qty;
    out.target[i] = o.target;
  }
  return out;
}

export const BENCH_USERS = 1000;

/**
 * A core with one market whose units equal the workload's numbers: tick 0.01 USD and lot 0.0001
 * BTC with USD at 6 decimals make k = 1, so priceTicks and qtyLots are the workload's price and
 * qty. 1,000 users funded far beyond need, fees 0.
 */
export function benchCore(): { core: Core; market: Market; users: User[] } {
  const core = new Core({
    makerFeeBps: 0,
    takerFeeBps: 0,
    priceBandPct: 20,
    maxOpenOrdersPerUser: 1_000_000,
    feeAccount: "fees",
    closedClientOrderIds: 1000,
  });
  const usd = core.addAsset("USD", 6);
  const btc = core.addAsset("BTC", 8);
  core.begin(0);
  const r = core.addMarket({
    symbol: "BTC-USD",
    base: "BTC",
    quote: "USD",
    tickSize: "0.01",
    stepSize: "0.0001",
    minQty: "0.0001",
    maxQty: "1000000",
    minNotional: "0",
    status: "TRADING",
    startPrice: "1000",
  });
  if (r !== 0) throw new Error(core.rejectMessage);
  const market = core.market!;
  if (market.k !== 1) throw new Error(`bench market k is ${market.k}, expected 1`);
  // 10^12 minor units each: 1,000,000 USD and 10,000 BTC per user; 1,000 users stay far below 2^53.
  core.setStartBalance(usd, 1e12);
  core.setStartBalance(btc, 1e12);
  const users: User[] = [];
  for (let u = 1; u <= BENCH_USERS; u++) {
    core.begin(0);
    core.openAccount(`u${u}`);
    users[u] = core.userIndex.get(`u${u}`)!;
  }
  return { core, market, users };
}

/** Fills recorded during a run (maker and taker as internal order ids), hashed after timing. */
export interface FillLog {
  count: number;
  maker: Int32Array;
  taker: Int32Array;
  price: Float64Array;
  qty: Float64Array;
}

export function newFillLog(capacity: number): FillLog {
  return {
    count: 0,
    maker: new Int32Array(capacity),
    taker: new Int32Array(capacity),
    price: new Float64Array(capacity),
    qty: new Float64Array(capacity),
  };
}

/** State a run needs besides the core: seq -> order id and order id -> seq. */
export interface RunState {
  idOfSeq: Float64Array;
  seqOfId: Int32Array;
}

/**
 * Applies ops [from, to) to the core. With `lat`, each op's latency (µs) is written to lat[i] using
 * one performance.now() per op (chained: op i's time is now() after it minus now() after op i-1).
 */
export function runOps(
  core: Core,
  market: Market,
  users: User[],
  ops: Ops,
  fills: FillLog,
  st: RunState,
  from: number,
  to: number,
  lat?: Float32Array,
): void {
  const out = core.out;
  const opc = ops.op;
  const user = ops.user;
  const side = ops.side;
  const price = ops.price;
  const qty = ops.qty;
  const target = ops.target;
  const { idOfSeq, seqOfId } = st;
  let prev = lat ? performance.now() : 0;
  for (let i = from; i < to; i++) {
    core.begin(i);
    const kind = opc[i]!;
    const u = users[user[i]!]!;
    if (kind === OP_CANCEL) {
      const id = idOfSeq[target[i]! - 1]!;
      core.cancel(u, id > 0 ? id : -1, undefined, null);
    } else {
      const r = kind === OP_LIMIT
        ? core.place(u, market, side[i]!, LIMIT, GTC, false, STP_NONE, price[i]!, qty[i]!, 0, undefined)
        : core.place(u, market, side[i]!, MARKET, GTC, false, STP_NONE, 0, qty[i]!, 0, undefined);
      if (r !== 0) throw new Error(`op ${i + 1} rejected: ${core.rejectMessage}`);
      const o = core.order!;
      seqOfId[o.id] = i + 1;
      if (o.level !== null) idOfSeq[i] = o.id;
      const n = out.fillCount;
      if (n > 0) {
        let c = fills.count;
        for (let f = 0; f < n; f++) {
          fills.maker[c] = out.fMakerId[f]!;
          fills.taker[c] = o.id;
          fills.price[c] = out.fPrice[f]!;
          fills.qty[c] = out.fQty[f]!;
          c++;
        }
        fills.count = c;
      }
    }
    if (lat) {
      const now = performance.now();
      lat[i] = (now - prev) * 1000;
      prev = now;
    }
  }
}

/** The run's result in the reference's terms (`workload.mjs expect`). */
export interface Summary {
  trades: number;
  volume: number;
  notional: string;
  resting: number;
  restingQty: number;
  bestBid: number | null;
  bestAsk: number | null;
  tradesSha256: string;
}

export function summarize(core: Core, market: Market, fills: FillLog, st: RunState): Summary {
  const hash = createHash("sha256");
  let volume = 0;
  let notional = 0n;
  const chunk: string[] = [];
  for (let i = 0; i < fills.count; i++) {
    const q = fills.qty[i]!;
    const p = fills.price[i]!;
    volume += q;
    notional += BigInt(p * q);
    chunk.push(`${st.seqOfId[fills.maker[i]!]},${st.seqOfId[fills.taker[i]!]},${p},${q}\n`);
    if (chunk.length === 4096) {
      hash.update(chunk.join(""));
      chunk.length = 0;
    }
  }
  hash.update(chunk.join(""));
  let restingQty = 0;
  for (const o of core.orders.values()) restingQty += o.remaining;
  return {
    trades: fills.count,
    volume,
    notional: notional.toString(),
    resting: core.orders.size,
    restingQty,
    bestBid: market.bids.best()?.price ?? null,
    bestAsk: market.asks.best()?.price ?? null,
    tradesSha256: hash.digest("hex"),
  };
}

/** The fields of `expected` the summary must equal. */
export function differences(summary: Summary, expected: Record<string, unknown>): string[] {
  const diffs: string[] = [];
  for (const [k, v] of Object.entries(summary)) {
    if (expected[k] !== v) {
      diffs.push(`${k}: got ${JSON.stringify(v)}, reference ${JSON.stringify(expected[k])}`);
    }
  }
  return diffs;
}

/** A fresh core and everything a run needs for `ops`. */
export function prepareRun(ops: Ops) {
  const { core, market, users } = benchCore();
  // Every op places at most one order, so ids stay below count + 1; fills at most one per maker.
  const st: RunState = { idOfSeq: new Float64Array(ops.count), seqOfId: new Int32Array(ops.count + 2) };
  // A fill either completes its maker or its taker, so there are at most two per op.
  const fills = newFillLog(2 * ops.count + 16);
  return { core, market, users, st, fills };
}

/** One `--json` line of bench:engine; a run that differs from the reference has null speeds. */
export interface ResultLine {
  variant: string;
  ops: number;
  opsPerSec: number | null;
  p50Us: number | null;
  p99Us: number | null;
  matchesReference: boolean;
  differences?: string[];
}

/** The line for a variant: its speeds when `differences` is empty, else nulls and the differences. */
export function resultLine(
  variant: string,
  ops: number,
  differences: string[],
  speed?: { opsPerSec: number; p50Us: number; p99Us: number },
): ResultLine {
  if (differences.length > 0 || !speed) {
    return {
      variant,
      ops,
      opsPerSec: null,
      p50Us: null,
      p99Us: null,
      matchesReference: false,
      differences: differences.length > 0 ? differences : ["no speed measured"],
    };
  }
  return { variant, ops, ...speed, matchesReference: true };
}
