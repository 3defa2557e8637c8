/**
 * The engine's internal state objects, in integer units only: prices in ticks, quantities in lots,
 * balances and notionals in the asset's minor units. Enumerations are small integers so the hot
 * path compares numbers, never strings.
 * @module
 */
import type { MarketSpec } from "@lib/contracts";
import type { Ladder } from "./ladder.ts";
import type { MarketUnits, Step } from "./units.ts";

export const BUY = 0;
export const SELL = 1;
export const SIDES = ["BUY", "SELL"] as const;

export const LIMIT = 0;
export const MARKET = 1;
export const ORDER_TYPES = ["LIMIT", "MARKET"] as const;

export const GTC = 0;
export const IOC = 1;
export const FOK = 2;
export const TIME_IN_FORCES = ["GTC", "IOC", "FOK"] as const;

export const STP_EXPIRE_TAKER = 0;
export const STP_EXPIRE_MAKER = 1;
export const STP_EXPIRE_BOTH = 2;
export const STP_NONE = 3;
export const STP_MODES = ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "NONE"] as const;

export const ACCEPTED = 0;
export const PARTIALLY_FILLED = 1;
export const FILLED = 2;
export const CANCELED = 3;
export const EXPIRED = 4;
export const STATUSES = ["ACCEPTED", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED"] as const;

/** Why the remainder of an order expired (0: it did not). */
export const EXPIRE_NONE = 0;
export const EXPIRE_NO_LIQUIDITY = 1;
export const EXPIRE_FOK_NOT_FILLABLE = 2;
export const EXPIRE_SELF_TRADE = 3;
export const EXPIRE_INSUFFICIENT_BALANCE = 4;
export const EXPIRE_QUOTE_QTY_TOO_SMALL = 5;
export const EXPIRE_REASONS = [
  "",
  "NO_LIQUIDITY",
  "FOK_NOT_FILLABLE",
  "SELF_TRADE_PREVENTION",
  "INSUFFICIENT_BALANCE",
  "QUOTE_QTY_TOO_SMALL",
] as const;

/** Largest integer a double holds exactly; every amount inside the engine stays at or below it. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A user's wallet and open orders. Balances are indexed by asset index. */
export class User {
  readonly idx: number;
  readonly id: string;
  free: number[];
  locked: number[];
  openCount = 0;
  /** Open orders, oldest first (intrusive list through Order.uPrev/uNext). */
  head: Order | null = null;
  tail: Order | null = null;
  /** clientOrderId -> open order. */
  coids: Map<string, Order> | null = null;
  /**
   * Recently closed orders that carried a clientOrderId: a ring of at most the configured size,
   * oldest at `closedHead` once full.
   */
  closed: Order[] | null = null;
  closedHead = 0;
  updatedAt = 0;

  constructor(idx: number, id: string, assets: number) {
    this.idx = idx;
    this.id = id;
    this.free = zeros(assets);
    this.locked = zeros(assets);
  }
}

/** A price level: a FIFO of resting orders at one price (intrusive list through Order.prev/next). */
export class Level {
  readonly price: number;
  /** Sum of the remaining lots of its orders. */
  qty = 0;
  count = 0;
  head: Order | null = null;
  tail: Order | null = null;

  constructor(price: number) {
    this.price = price;
  }
}

/** One order, taker or resting. Every field is set in the constructor so all orders share a shape. */
export class Order {
  id: number;
  user: User;
  market: Market;
  side: number;
  type: number;
  tif: number;
  postOnly: boolean;
  stp: number;
  /** Limit price in ticks (0 for MARKET). */
  price: number;
  /** Ordered lots (for a MARKET BUY by quote amount: lots bought so far). */
  qty: number;
  /** Quote budget in minor units of a MARKET BUY by quote amount, else 0. */
  quoteQty: number;
  remaining: number;
  filled: number;
  /** Sum of price x qty x k over fills, in quote minor units. */
  filledQuote: number;
  /** What this order holds locked: quote minor units for a buy, base minor units for a sell. */
  locked: number;
  /** Fee accumulator, see fees.ts. */
  feeWq = 0;
  feeWr = 0;
  status: number = ACCEPTED;
  expireReason: number = EXPIRE_NONE;
  createdAt: number;
  clientOrderId: string | undefined;
  prev: Order | null = null;
  next: Order | null = null;
  level: Level | null = null;
  /** Position in the order index while resting, else -1. */
  slot = -1;
  uPrev: Order | null = null;
  uNext: Order | null = null;
  /** For an order with a clientOrderId: what the reply to its placing command said. */
  placed: Placed | null = null;

  constructor(
    id: number,
    user: User,
    market: Market,
    side: number,
    type: number,
    tif: number,
    postOnly: boolean,
    stp: number,
    price: number,
    qty: number,
    quoteQty: number,
    clientOrderId: string | undefined,
    ts: number,
  ) {
    this.id = id;
    this.user = user;
    this.market = market;
    this.side = side;
    this.type = type;
    this.tif = tif;
    this.postOnly = postOnly;
    this.stp = stp;
    this.price = price;
    this.qty = qty;
    this.quoteQty = quoteQty;
    this.remaining = qty;
    this.filled = 0;
    this.filledQuote = 0;
    this.locked = 0;
    this.createdAt = ts;
    this.clientOrderId = clientOrderId;
  }
}

/** An order's state as the reply to its placing command described it (a duplicate gets the same). */
export interface Placed {
  status: number;
  filled: number;
  filledQuote: number;
  expireReason: number;
}

/** A market with its filters converted to integers once, when it is added. */
export class Market {
  readonly idx: number;
  readonly symbol: string;
  /** The wire spec (decimal strings); `status` follows `trading`. */
  spec: MarketSpec;
  readonly base: number;
  readonly quote: number;
  readonly tick: Step;
  readonly lot: Step;
  /** Quote minor units per (tick x lot): notional = priceTicks * qtyLots * k. */
  readonly k: number;
  /** Base minor units per lot. */
  readonly baseK: number;
  readonly minQty: number;
  readonly maxQty: number;
  /** In quote minor units. */
  readonly minNotional: number;
  readonly startPrice: number;
  trading: boolean;
  /** Last trade price in ticks (the start price before the first trade): the price band's centre. */
  lastPrice: number;
  tradeSeq = 0;
  bookSeq = 0;
  readonly bids: Ladder;
  readonly asks: Ladder;

  constructor(
    idx: number,
    spec: MarketSpec,
    base: number,
    quote: number,
    units: MarketUnits,
    bids: Ladder,
    asks: Ladder,
  ) {
    this.idx = idx;
    this.symbol = spec.symbol;
    this.spec = spec;
    this.base = base;
    this.quote = quote;
    this.tick = units.tick;
    this.lot = units.lot;
    this.k = units.k;
    this.baseK = units.baseK;
    this.minQty = units.minQty;
    this.maxQty = units.maxQty;
    this.minNotional = units.minNotional;
    this.startPrice = units.startPrice;
    this.trading = spec.status !== "PAUSED";
    this.lastPrice = units.startPrice;
    this.bids = bids;
    this.asks = asks;
  }
}

/** An asset and its minor unit. */
export interface AssetInfo {
  readonly code: string;
  readonly decimals: number;
}

/** The remembered closed orders of `u`, oldest first. */
export function closedOldestFirst(u: User): Order[] {
  const ring = u.closed;
  if (ring === null) return [];
  return u.closedHead === 0 ? ring : [...ring.slice(u.closedHead), ...ring.slice(0, u.closedHead)];
}

/** A new array of `n` zeros that V8 stores as unboxed doubles. */
export function zeros(n: number): number[] {
  const a: number[] = [0.5];
  a.length = 0;
  for (let i = 0; i < n; i++) a.push(0);
  return a;
}
