/**
 * Test helpers: a core with one simple market (1 tick = 1 QUOTE, 1 lot = 1 BASE, so numbers read as
 * they are), users, terse order placement, and books drawn as `[bid, price, ask]` rows.
 * @module
 */
import { Core } from "./core.ts";
import {
  BUY,
  FOK,
  GTC,
  IOC,
  LIMIT,
  MARKET,
  type Market,
  type Order,
  SELL,
  STP_EXPIRE_TAKER,
  type User,
} from "./model.ts";
import { STP_EXPIRE_BOTH, STP_EXPIRE_MAKER, STP_NONE } from "./model.ts";

/** One row of a drawn book: bid quantity, price, ask quantity (0 = nothing). */
export type Row = [bid: number, price: number, ask: number];

export interface TestOptions {
  makerFeeBps?: number;
  takerFeeBps?: number;
  priceBandPct?: number;
  maxOpenOrdersPerUser?: number;
  minQty?: string;
  maxQty?: string;
  minNotional?: string;
}

/** A core with market BASE-QUOTE: tick 1, step 1, both assets without decimals, start price 100. */
export function testCore(opts: TestOptions = {}): { core: Core; m: Market } {
  const core = new Core({
    makerFeeBps: opts.makerFeeBps ?? 0,
    takerFeeBps: opts.takerFeeBps ?? 0,
    priceBandPct: opts.priceBandPct ?? 0,
    maxOpenOrdersPerUser: opts.maxOpenOrdersPerUser ?? 100,
    feeAccount: "fees",
    closedClientOrderIds: 3,
  });
  core.addAsset("BASE", 0);
  core.addAsset("QUOTE", 0);
  core.begin(1);
  const r = core.addMarket({
    symbol: "BASE-QUOTE",
    base: "BASE",
    quote: "QUOTE",
    tickSize: "1",
    stepSize: "1",
    minQty: opts.minQty ?? "1",
    maxQty: opts.maxQty ?? "1000000",
    minNotional: opts.minNotional ?? "0",
    status: "TRADING",
    startPrice: "100",
  });
  if (r !== 0) throw new Error(core.rejectMessage);
  return { core, m: core.market! };
}

/** Opens `id` and funds it with `base` BASE and `quote` QUOTE. */
export function user(core: Core, id: string, base = 1_000_000, quote = 1_000_000): User {
  core.begin(1);
  core.openAccount(id);
  const u = core.userIndex.get(id)!;
  if (base > 0) core.deposit(u, core.assetIndex.get("BASE")!, base);
  if (quote > 0) core.deposit(u, core.assetIndex.get("QUOTE")!, quote);
  return u;
}

export interface OrderSpec {
  side: "BUY" | "SELL";
  type?: "LIMIT" | "MARKET";
  tif?: "GTC" | "IOC" | "FOK";
  postOnly?: boolean;
  stp?: "EXPIRE_TAKER" | "EXPIRE_MAKER" | "EXPIRE_BOTH" | "NONE";
  price?: number;
  qty?: number;
  quoteQty?: number;
  clientOrderId?: string;
}

const TIFS = { GTC, IOC, FOK };
const STPS = {
  EXPIRE_TAKER: STP_EXPIRE_TAKER,
  EXPIRE_MAKER: STP_EXPIRE_MAKER,
  EXPIRE_BOTH: STP_EXPIRE_BOTH,
  NONE: STP_NONE,
};

/** Places an order as its own command; returns the result code and the order. */
export function place(
  core: Core,
  u: User,
  m: Market,
  s: OrderSpec,
  ts = 2,
): { code: number; order: Order | null } {
  core.begin(ts);
  const type = s.type ?? (s.price === undefined ? "MARKET" : "LIMIT");
  const code = core.place(
    u,
    m,
    s.side === "BUY" ? BUY : SELL,
    type === "LIMIT" ? LIMIT : MARKET,
    TIFS[s.tif ?? "GTC"],
    s.postOnly ?? false,
    STPS[s.stp ?? "EXPIRE_TAKER"],
    s.price ?? 0,
    s.qty ?? 0,
    s.quoteQty ?? 0,
    s.clientOrderId,
  );
  return { code, order: core.order };
}

/**
 * Rests one order per non-zero cell, top row first, all from `maker` (opened on first use);
 * returns them in that order.
 */
export function bookFrom(core: Core, m: Market, rows: Row[], maker?: User): Order[] {
  const u = maker ?? core.userIndex.get("maker") ?? user(core, "maker");
  const orders: Order[] = [];
  for (const [bid, price, ask] of rows) {
    for (const [qty, side] of [[ask, "SELL"], [bid, "BUY"]] as const) {
      if (qty === 0) continue;
      const r = place(core, u, m, { side, price, qty });
      if (r.code !== 0 || r.order?.level === null) {
        throw new Error(`could not rest ${side} ${qty} @ ${price}`);
      }
      orders.push(r.order!);
    }
  }
  return orders;
}

/** The book as rows, highest price first; a price with both sides is impossible (uncrossed). */
export function bookOf(m: Market): Row[] {
  const rows: Row[] = [];
  for (const l of m.asks.levels) rows.push([0, l.price, l.qty]);
  for (let i = m.bids.levels.length - 1; i >= 0; i--) {
    rows.push([m.bids.levels[i]!.qty, m.bids.levels[i]!.price, 0]);
  }
  return rows;
}

/** Fills of the last command: maker order id, price, qty. */
export function fillsOf(core: Core): { maker: number; price: number; qty: number }[] {
  const out = core.out;
  const fills = [];
  for (let i = 0; i < out.fillCount; i++) {
    fills.push({ maker: out.fMakerId[i]!, price: out.fPrice[i]!, qty: out.fQty[i]! });
  }
  return fills;
}

/** [free, locked] of `u` in asset `code`. */
export function balance(core: Core, u: User, code: string): [free: number, locked: number] {
  const a = core.assetIndex.get(code)!;
  return [u.free[a]!, u.locked[a]!];
}
