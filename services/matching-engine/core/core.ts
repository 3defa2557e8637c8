/**
 * The pure matching core: markets, order books (price-time priority), wallets and risk checks, in
 * integer units. No I/O, no clock (time is the `ts` given to `begin`), no randomness: the same
 * calls give the same state and the same events.
 *
 * Every balance change goes through `#move`, which also records the wallet event, so the events
 * explain every change by construction. Every command starts with `begin(ts)`, which clears the
 * event buffers in `out`.
 * @module
 */
import type { MarketSpec } from "@lib/contracts";
import { EV_CANCELED, EV_EXPIRED, EV_NEW, EV_TRADE, EventBuffer } from "./events.ts";
import { W_DEPOSIT, W_FEE, W_LOCK, W_OPEN_ACCOUNT, W_TRADE, W_UNLOCK } from "./events.ts";
import { feeAccumulate, feeCeil, feeDelta, feeOf } from "./fees.ts";
import { Ladder } from "./ladder.ts";
import { OrderIndex } from "./order_index.ts";
import {
  ACCEPTED,
  type AssetInfo,
  BUY,
  CANCELED,
  EXPIRE_FOK_NOT_FILLABLE,
  EXPIRE_INSUFFICIENT_BALANCE,
  EXPIRE_NO_LIQUIDITY,
  EXPIRE_NONE,
  EXPIRE_QUOTE_QTY_TOO_SMALL,
  EXPIRE_SELF_TRADE,
  EXPIRED,
  FILLED,
  FOK,
  GTC,
  IOC,
  type Level,
  LIMIT,
  Market,
  MAX_SAFE,
  Order,
  PARTIALLY_FILLED,
  SELL,
  STP_EXPIRE_BOTH,
  STP_EXPIRE_MAKER,
  STP_EXPIRE_TAKER,
  STP_NONE,
  User,
} from "./model.ts";
import {
  R_AMOUNT_TOO_LARGE,
  R_DUPLICATE,
  R_INSUFFICIENT_BALANCE,
  R_INVALID_AMOUNT,
  R_INVALID_ORDER,
  R_MARKET_PAUSED,
  R_NOTIONAL_TOO_SMALL,
  R_OK,
  R_POST_ONLY_WOULD_CROSS,
  R_PRICE_OUT_OF_BAND,
  R_QTY_TOO_LARGE,
  R_QTY_TOO_SMALL,
  R_TOO_MANY_OPEN_ORDERS,
  R_UNKNOWN_ASSET,
  R_UNKNOWN_ORDER,
} from "./reasons.ts";
import { amountText, marketUnits, stepsText } from "./units.ts";

/** Settings of the core in integer form. */
export interface CoreConfig {
  makerFeeBps: number;
  takerFeeBps: number;
  /** Limit prices further than this percent from the last trade (or start) price are rejected. */
  priceBandPct: number;
  maxOpenOrdersPerUser: number;
  feeAccount: string;
  /** Closed orders with a clientOrderId remembered per user for duplicate detection. */
  closedClientOrderIds: number;
}

/** Closed clientOrderIds kept per user unless configured otherwise. */
export const DEFAULT_CLOSED_CLIENT_ORDER_IDS = 1000;

/**
 * The fee rates orders were accepted under: from the order with id `fromOrderId` on (until the next
 * entry's). Fees may change from one start to the next, and a resting buy locked its fee at the
 * rates of its time: it keeps paying those, so its lock always covers what it is charged.
 */
export interface FeeRates {
  fromOrderId: number;
  makerBps: number;
  takerBps: number;
}

export class Core {
  readonly config: CoreConfig;
  readonly makerBps: number;
  readonly takerBps: number;
  /** A buy limit order locks its fee at the higher of the two rates: it may fill as taker or maker. */
  readonly lockBps: number;
  /**
   * Rates by the orders they apply to, oldest first; the last entry is this core's own (see
   * {@linkcode FeeRates}). Usually one entry; a restart with other fees adds one.
   */
  feeHistory: FeeRates[];

  readonly assets: AssetInfo[] = [];
  readonly assetIndex = new Map<string, number>();
  /** Per asset: the sum of every balance (free + locked, all users); only openAccount and deposit change it. */
  readonly supply: number[] = [];
  /** Per asset: what openAccount credits. */
  readonly startBalances: number[] = [];

  readonly markets: Market[] = [];
  readonly marketIndex = new Map<string, Market>();
  readonly users: User[] = [];
  readonly userIndex = new Map<string, User>();
  readonly feeUser: User;
  /** Resting orders by internal id. */
  readonly orders = new OrderIndex();

  /** base36 ms of the first command this state ever applied: part of every id. */
  epoch: string | undefined = undefined;
  lastOrderId = 0;
  lastTradeId = 0;

  readonly out = new EventBuffer();

  // Results of the last command.
  /** The order placed, canceled, or (for a duplicate) found. */
  order: Order | null = null;
  /** cancelAll: the canceled orders, oldest first. */
  canceled: Order[] = [];
  /** openAccount: whether the account was created by this call. */
  opened = false;
  /** addMarket / setMarketStatus: the market. */
  market: Market | null = null;
  rejectField = "";
  rejectMessage = "";

  readonly #feeScratch = new Float64Array(1);

  constructor(config: CoreConfig) {
    for (
      const [name, v] of [["makerFeeBps", config.makerFeeBps], ["takerFeeBps", config.takerFeeBps]] as const
    ) {
      if (!Number.isInteger(v) || v < 0 || v > 10_000) {
        throw new RangeError(`${name} must be an integer from 0 to 10000, got ${v}`);
      }
    }
    if (!(config.priceBandPct >= 0)) throw new RangeError("priceBandPct must be >= 0");
    if (!Number.isInteger(config.maxOpenOrdersPerUser) || config.maxOpenOrdersPerUser < 1) {
      throw new RangeError("maxOpenOrdersPerUser must be a positive integer");
    }
    this.config = config;
    this.makerBps = config.makerFeeBps;
    this.takerBps = config.takerFeeBps;
    this.lockBps = Math.max(config.makerFeeBps, config.takerFeeBps);
    this.feeHistory = [{ fromOrderId: 0, makerBps: this.makerBps, takerBps: this.takerBps }];
    this.feeUser = this.#newUser(config.feeAccount);
  }

  /** Starts a command at time `ts` (ms): clears the event buffers and the results. */
  begin(ts: number): void {
    this.out.reset(ts);
    this.order = null;
    this.market = null;
    this.opened = false;
    if (this.canceled.length) this.canceled = [];
    if (this.epoch === undefined) this.epoch = ts.toString(36);
  }

  // ---------------------------------------------------------------- registry

  /** Adds an asset (or returns the existing one's index). */
  addAsset(code: string, decimals: number): number {
    const known = this.assetIndex.get(code);
    if (known !== undefined) return known;
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18) {
      throw new RangeError(`decimals of ${code} must be an integer from 0 to 18`);
    }
    const idx = this.assets.length;
    this.assets.push({ code, decimals });
    this.assetIndex.set(code, idx);
    this.supply.push(0);
    this.startBalances.push(0);
    for (const u of this.users) {
      u.free.push(0);
      u.locked.push(0);
    }
    return idx;
  }

  /** Sets what a new account receives of `asset` (minor units). */
  setStartBalance(asset: number, amount: number): void {
    if (!Number.isSafeInteger(amount) || amount < 0) {
      throw new RangeError("start balance must be a safe integer");
    }
    this.startBalances[asset] = amount;
  }

  /**
   * Adds a market, or sets an existing one TRADING again. Unknown assets are added with 8 decimals.
   * Rejects (R_INVALID_ORDER) a spec whose notional would not be a whole number of quote minor units.
   */
  addMarket(spec: MarketSpec): number {
    const existing = this.marketIndex.get(spec.symbol);
    if (existing !== undefined) {
      if (!existing.trading) this.#setTrading(existing, true);
      this.market = existing;
      return R_OK;
    }
    const baseIdx = this.assetIndex.get(spec.base);
    const quoteIdx = this.assetIndex.get(spec.quote);
    const baseDecimals = baseIdx === undefined ? 8 : this.assets[baseIdx]!.decimals;
    const quoteDecimals = quoteIdx === undefined ? 8 : this.assets[quoteIdx]!.decimals;
    const units = marketUnits(spec, baseDecimals, quoteDecimals);
    if ("message" in units) return this.#reject(R_INVALID_ORDER, units.field, units.message);
    const base = this.addAsset(spec.base, baseDecimals);
    const quote = this.addAsset(spec.quote, quoteDecimals);
    const m = new Market(
      this.markets.length,
      { ...spec, status: spec.status ?? "TRADING" },
      base,
      quote,
      units,
      new Ladder(1),
      new Ladder(-1),
    );
    this.markets.push(m);
    this.marketIndex.set(m.symbol, m);
    this.market = m;
    return R_OK;
  }

  setMarketStatus(m: Market, trading: boolean): number {
    if (m.trading !== trading) this.#setTrading(m, trading);
    this.market = m;
    return R_OK;
  }

  #setTrading(m: Market, trading: boolean): void {
    m.trading = trading;
    m.spec = { ...m.spec, status: trading ? "TRADING" : "PAUSED" };
  }

  // ---------------------------------------------------------------- wallets

  #newUser(id: string): User {
    const u = new User(this.users.length, id, this.assets.length);
    this.users.push(u);
    this.userIndex.set(id, u);
    return u;
  }

  /** Opens an account with the start balances; returns the existing one unchanged if known. */
  openAccount(id: string): number {
    const known = this.userIndex.get(id);
    if (known !== undefined) {
      this.opened = false;
      return R_OK;
    }
    const start = this.startBalances;
    for (let a = 0; a < start.length; a++) {
      if (this.supply[a]! + start[a]! > MAX_SAFE) {
        return this.#reject(
          R_AMOUNT_TOO_LARGE,
          "userId",
          `total ${
            this.assets[a]!.code
          } would exceed ${MAX_SAFE} minor units; no more accounts can be funded`,
        );
      }
    }
    const u = this.#newUser(id);
    u.updatedAt = this.out.ts;
    for (let a = 0; a < start.length; a++) {
      const amount = start[a]!;
      if (amount > 0) {
        this.supply[a]! += amount;
        this.#move(u, a, amount, 0, W_OPEN_ACCOUNT, -1, 0);
      }
    }
    this.opened = true;
    return R_OK;
  }

  /** Credits `amount` minor units of `asset` to `user`. */
  deposit(user: User, asset: number, amount: number): number {
    if (!(asset >= 0 && asset < this.assets.length)) {
      return this.#reject(R_UNKNOWN_ASSET, "asset", "unknown asset");
    }
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      return this.#reject(R_INVALID_AMOUNT, "amount", "amount must be greater than 0");
    }
    if (this.supply[asset]! + amount > MAX_SAFE) {
      return this.#reject(
        R_AMOUNT_TOO_LARGE,
        "amount",
        `total ${this.assets[asset]!.code} would exceed ${
          amountText(MAX_SAFE, this.assets[asset]!.decimals)
        }; deposit at most ${amountText(MAX_SAFE - this.supply[asset]!, this.assets[asset]!.decimals)}`,
      );
    }
    this.supply[asset]! += amount;
    this.#move(user, asset, amount, 0, W_DEPOSIT, -1, 0);
    return R_OK;
  }

  /** The single way a balance changes: applies the change and records the wallet event. */
  #move(
    u: User,
    asset: number,
    dFree: number,
    dLocked: number,
    reason: number,
    fill: number,
    orderId: number,
  ): void {
    u.free[asset]! += dFree;
    u.locked[asset]! += dLocked;
    u.updatedAt = this.out.ts;
    this.out.wallet(u, asset, reason, dFree, dLocked, fill, orderId);
  }

  // ---------------------------------------------------------------- orders

  /**
   * Places an order. `price` in ticks (LIMIT), `qty` in lots, `quoteQty` in quote minor units
   * (MARKET BUY by quote amount, else 0). Returns R_OK (order in `this.order`), R_DUPLICATE (the
   * original order in `this.order`) or a rejection code (`rejectField`, `rejectMessage`).
   */
  place(
    user: User,
    m: Market,
    side: number,
    type: number,
    tif: number,
    postOnly: boolean,
    stp: number,
    price: number,
    qty: number,
    quoteQty: number,
    clientOrderId: string | undefined,
  ): number {
    if (clientOrderId !== undefined) {
      const dup = user.coids?.get(clientOrderId);
      if (dup !== undefined) {
        this.order = dup;
        return R_DUPLICATE;
      }
    }
    if (!m.trading) return this.#reject(R_MARKET_PAUSED, "symbol", `market ${m.symbol} is paused`);
    const isLimit = type === LIMIT;
    if (isLimit) {
      if (!(price > 0)) {
        return this.#reject(R_INVALID_ORDER, "price", "price is required on a LIMIT order and > 0");
      }
      if (quoteQty !== 0) {
        return this.#reject(R_INVALID_ORDER, "quoteQty", "quoteQty is only allowed on MARKET BUY orders");
      }
      if (postOnly && tif !== GTC) {
        return this.#reject(R_INVALID_ORDER, "postOnly", "postOnly requires timeInForce GTC");
      }
    } else {
      if (postOnly) {
        return this.#reject(R_INVALID_ORDER, "postOnly", "postOnly is only allowed on LIMIT orders");
      }
      if (tif === FOK) {
        return this.#reject(
          R_INVALID_ORDER,
          "timeInForce",
          "timeInForce FOK is only allowed on LIMIT orders",
        );
      }
      // a MARKET order never rests, whatever it asked for: it is IOC, and says so
      tif = IOC;
      if (price !== 0) return this.#reject(R_INVALID_ORDER, "price", "a MARKET order takes no price");
      if (quoteQty > 0) {
        if (side !== BUY) {
          return this.#reject(R_INVALID_ORDER, "quoteQty", "quoteQty is only allowed on MARKET BUY orders");
        }
        if (qty !== 0) return this.#reject(R_INVALID_ORDER, "qty", "give either qty or quoteQty, not both");
      }
    }
    if (quoteQty === 0) {
      if (!(qty >= m.minQty && qty >= 1)) {
        return this.#reject(
          R_QTY_TOO_SMALL,
          "qty",
          `qty must be at least ${this.#minQtyText(m)} on ${m.symbol}`,
        );
      }
      if (qty > m.maxQty || qty * m.baseK > MAX_SAFE) {
        return this.#reject(R_QTY_TOO_LARGE, "qty", `qty must be at most ${m.spec.maxQty} on ${m.symbol}`);
      }
    } else if (quoteQty < m.minNotional || quoteQty > MAX_SAFE) {
      return quoteQty > MAX_SAFE
        ? this.#reject(
          R_AMOUNT_TOO_LARGE,
          "quoteQty",
          `quoteQty must be at most ${
            amountText(MAX_SAFE, this.assets[m.quote]!.decimals)
          } ${m.spec.quote} on ${m.symbol}`,
        )
        : this.#reject(
          R_NOTIONAL_TOO_SMALL,
          "quoteQty",
          `quoteQty must be at least minNotional ${m.spec.minNotional} ${m.spec.quote} on ${m.symbol}`,
        );
    }
    let notional = 0;
    if (isLimit) {
      // Bound: every resting order has price x qty x k <= MAX_SAFE, so every fill's notional is exact.
      notional = price * qty * m.k;
      if (notional > MAX_SAFE) {
        return this.#reject(R_QTY_TOO_LARGE, "qty", `price x qty is too large on ${m.symbol}; lower qty`);
      }
      if (notional < m.minNotional) {
        return this.#reject(
          R_NOTIONAL_TOO_SMALL,
          "qty",
          `price x qty must be at least minNotional ${m.spec.minNotional} ${m.spec.quote} on ${m.symbol}`,
        );
      }
      const pct = this.config.priceBandPct;
      if (pct > 0) {
        const ref = m.lastPrice;
        if (price * 100 > ref * (100 + pct) || price * 100 < ref * (100 - pct)) {
          const lo = Math.max(1, Math.ceil((ref * (100 - pct)) / 100));
          const hi = Math.floor((ref * (100 + pct)) / 100);
          return this.#reject(
            R_PRICE_OUT_OF_BAND,
            "price",
            `price must be within ${pct}% of ${stepsText(ref, m.tick)} on ${m.symbol}: from ${
              stepsText(lo, m.tick)
            } to ${stepsText(hi, m.tick)}`,
          );
        }
      }
      if (tif === GTC && user.openCount >= this.config.maxOpenOrdersPerUser) {
        return this.#reject(
          R_TOO_MANY_OPEN_ORDERS,
          "userId",
          `at most ${this.config.maxOpenOrdersPerUser} open orders per user`,
        );
      }
    }
    let lock = 0;
    if (side === BUY) {
      const free = user.free[m.quote]!;
      if (isLimit) {
        lock = notional + feeOf(notional, this.lockBps);
        if (free < lock) return this.#insufficient(m.quote, lock, free);
      } else if (quoteQty > 0) {
        if (free < quoteQty) return this.#insufficient(m.quote, quoteQty, free, "quoteQty");
      } else {
        const best = m.asks.best();
        if (best !== null) {
          const unit = best.price * m.k;
          const cost = unit + feeOf(unit, this.takerBps);
          // only the first lot is known to be payable up front; the fill stops where money runs out
          if (free < cost) {
            return this.#insufficient(m.quote, cost, free, "qty", "at least one lot at the best ask");
          }
        }
      }
    } else {
      const need = qty * m.baseK;
      const free = user.free[m.base]!;
      if (free < need) return this.#insufficient(m.base, need, free);
      if (isLimit) lock = need;
    }
    if (postOnly) {
      const best = side === BUY ? m.asks.best() : m.bids.best();
      if (best !== null && (side === BUY ? best.price <= price : best.price >= price)) {
        return this.#reject(
          R_POST_ONLY_WOULD_CROSS,
          "price",
          `a postOnly ${side === BUY ? "BUY" : "SELL"} at ${stepsText(price, m.tick)} would trade against ${
            stepsText(best.price, m.tick)
          }`,
        );
      }
    }

    const out = this.out;
    const o = new Order(
      ++this.lastOrderId,
      user,
      m,
      side,
      type,
      tif,
      postOnly,
      stp,
      price,
      qty,
      quoteQty,
      clientOrderId,
      out.ts,
    );
    this.order = o;
    out.order(o, EV_NEW, -1);
    if (tif === FOK && !this.#fillable(o, m)) {
      o.expireReason = EXPIRE_FOK_NOT_FILLABLE;
    } else {
      if (lock > 0) {
        o.locked = lock;
        this.#move(user, side === BUY ? m.quote : m.base, -lock, lock, W_LOCK, -1, o.id);
      }
      this.#match(o, m);
    }
    if (o.remaining > 0 && isLimit && tif === GTC && o.expireReason === EXPIRE_NONE) {
      o.status = o.filled > 0 ? PARTIALLY_FILLED : ACCEPTED;
      this.#rest(o, m);
    } else {
      this.#closeTaker(o, m);
    }
    if (clientOrderId !== undefined) {
      o.placed = {
        status: o.status,
        filled: o.filled,
        filledQuote: o.filledQuote,
        expireReason: o.expireReason,
      };
    }
    return R_OK;
  }

  /** Ends a taker that does not rest: final status, lock released, EXPIRED event when not filled. */
  #closeTaker(o: Order, m: Market): void {
    const quoteMode = o.quoteQty > 0;
    if (o.filled === 0) {
      o.status = EXPIRED;
      if (o.expireReason === EXPIRE_NONE) {
        o.expireReason = quoteMode ? EXPIRE_QUOTE_QTY_TOO_SMALL : EXPIRE_NO_LIQUIDITY;
      }
    } else if (quoteMode ? o.expireReason === EXPIRE_NONE : o.remaining === 0) {
      o.status = FILLED;
      o.expireReason = EXPIRE_NONE;
    } else {
      o.status = PARTIALLY_FILLED;
      if (o.expireReason === EXPIRE_NONE) o.expireReason = EXPIRE_NO_LIQUIDITY;
    }
    if (o.locked > 0) {
      const l = o.locked;
      o.locked = 0;
      this.#move(o.user, o.side === BUY ? m.quote : m.base, l, -l, W_UNLOCK, -1, o.id);
    }
    const out = this.out;
    if (o.status === FILLED) {
      // A MARKET BUY by quote amount learns it is done only after its last fill.
      if (quoteMode) this.#patchLastTradeStatus(o);
    } else {
      out.order(o, EV_EXPIRED, -1);
    }
    this.#remember(o);
  }

  #patchLastTradeStatus(o: Order): void {
    const out = this.out;
    for (let i = out.evCount - 1; i >= 0; i--) {
      if (out.evOrder[i] === o && out.evKind[i] === EV_TRADE) {
        out.evStatus[i] = FILLED;
        return;
      }
    }
  }

  /** Keeps a closed order with a clientOrderId so a retried place gets the original answer. */
  #remember(o: Order): void {
    const coid = o.clientOrderId;
    if (coid === undefined) return;
    const u = o.user;
    const map = u.coids ??= new Map();
    map.set(coid, o);
    const limit = this.config.closedClientOrderIds;
    if (u.closed === null) u.closed = [];
    const ring = u.closed;
    if (ring.length < limit) {
      ring.push(o);
      return;
    }
    // Full: the oldest entry gives way (and is forgotten unless its id was reused since).
    const old = ring[u.closedHead]!;
    if (map.get(old.clientOrderId!) === old) map.delete(old.clientOrderId!);
    ring[u.closedHead] = o;
    u.closedHead = (u.closedHead + 1) % limit;
  }

  /** Whether a FOK order can fill completely right now (self-trade prevention included). */
  #fillable(t: Order, m: Market): boolean {
    const levels = t.side === BUY ? m.asks.levels : m.bids.levels;
    let need = t.remaining;
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i]!;
      if (t.side === BUY ? level.price > t.price : level.price < t.price) return false;
      if (t.stp === STP_NONE) {
        need -= level.qty;
        if (need <= 0) return true;
        continue;
      }
      for (let o = level.head; o !== null; o = o.next) {
        if (o.user === t.user) {
          if (t.stp === STP_EXPIRE_MAKER) continue;
          return false;
        }
        need -= o.remaining;
        if (need <= 0) return true;
      }
    }
    return false;
  }

  /** The taker against the opposite side, best level first, oldest order first. */
  #match(t: Order, m: Market): void {
    const takerBuys = t.side === BUY;
    const ladder = takerBuys ? m.asks : m.bids;
    const levels = ladder.levels;
    const makerSide = takerBuys ? SELL : BUY;
    const isLimit = t.type === LIMIT;
    const quoteMode = t.quoteQty > 0;
    const marketBuy = !isLimit && takerBuys;
    const stp = t.stp;
    const user = t.user;
    const out = this.out;
    let stop = false;
    while (!stop && (quoteMode || t.remaining > 0)) {
      const n = levels.length;
      if (n === 0) {
        // Out of liquidity. A limit remainder may rest, so only a quote-amount order notes it here
        // (#closeTaker gives the others NO_LIQUIDITY when they do not rest).
        if (quoteMode) t.expireReason = EXPIRE_NO_LIQUIDITY;
        break;
      }
      const level = levels[n - 1]!;
      const p = level.price;
      if (isLimit && (takerBuys ? p > t.price : p < t.price)) break;
      out.touch(m, makerSide, p);
      let mk = level.head;
      while (mk !== null) {
        const next = mk.next;
        if (mk.user === user && stp !== STP_NONE) {
          if (stp === STP_EXPIRE_TAKER) {
            t.expireReason = EXPIRE_SELF_TRADE;
            stop = true;
            break;
          }
          this.#expireMaker(mk, m);
          if (stp === STP_EXPIRE_BOTH) {
            t.expireReason = EXPIRE_SELF_TRADE;
            stop = true;
            break;
          }
          mk = next;
          continue;
        }
        let q = quoteMode ? mk.remaining : (mk.remaining < t.remaining ? mk.remaining : t.remaining);
        if (marketBuy) {
          const budget = quoteMode
            ? t.quoteQty - t.filledQuote - feeCeil(t.feeWq, t.feeWr)
            : user.free[m.quote]!;
          const unit = p * m.k;
          const afford = this.#cost(t, unit, q) <= budget ? q : this.#affordable(t, budget, unit, q);
          if (afford < q) {
            // Out of money (or of quote budget): fill what it can pay for, then stop.
            stop = true;
            if (!quoteMode) t.expireReason = EXPIRE_INSUFFICIENT_BALANCE;
            if (afford === 0) break;
            q = afford;
          }
        }
        this.#fill(m, level, mk, t, p, q);
        if (stop || (!quoteMode && t.remaining === 0)) break;
        mk = next;
      }
      if (level.head === null) ladder.popBest();
    }
  }

  /** The most lots (<= cap) at `unit` quote per lot, taker fee included, that `budget` pays for. */
  #affordable(t: Order, budget: number, unit: number, cap: number): number {
    const bps = this.takerBps;
    // A float estimate, then exact steps to the answer (usually none or one).
    let q = bps > 0 ? Math.floor((budget * 10_000) / (unit * (10_000 + bps))) : Math.floor(budget / unit);
    if (q > cap) q = cap;
    if (q < 0) q = 0;
    while (q > 0 && this.#cost(t, unit, q) > budget) q--;
    while (q < cap && this.#cost(t, unit, q + 1) <= budget) q++;
    return q;
  }

  /** What the taker pays for `q` lots at `unit` quote per lot, its taker fee included. */
  #cost(t: Order, unit: number, q: number): number {
    const n = q * unit;
    return this.takerBps === 0 ? n : n + feeDelta(t.feeWq, t.feeWr, n, this.takerBps);
  }

  /** One maker fill of `q` lots at `p`: orders, level, wallets, fees, events. */
  #fill(m: Market, level: Level, mk: Order, t: Order, p: number, q: number): void {
    const out = this.out;
    const notional = p * q * m.k;
    const tradeId = ++this.lastTradeId;
    const f = out.fill(mk.id, p, q, tradeId, ++m.tradeSeq);
    let makerFee = 0;
    let takerFee = 0;
    // the maker pays the rate it was accepted under; the taker is accepted now
    const makerBps = this.ratesOf(mk).makerBps;
    if (makerBps !== 0) {
      makerFee = feeDelta(mk.feeWq, mk.feeWr, notional, makerBps);
      mk.feeWq = feeAccumulate(mk.feeWq, mk.feeWr, notional, makerBps, this.#feeScratch);
      mk.feeWr = this.#feeScratch[0]!;
      out.fMakerFee[f] = makerFee;
    }
    if (this.takerBps !== 0) {
      takerFee = feeDelta(t.feeWq, t.feeWr, notional, this.takerBps);
      t.feeWq = feeAccumulate(t.feeWq, t.feeWr, notional, this.takerBps, this.#feeScratch);
      t.feeWr = this.#feeScratch[0]!;
      out.fTakerFee[f] = takerFee;
    }
    mk.remaining -= q;
    mk.filled += q;
    mk.filledQuote += notional;
    if (t.quoteQty > 0) t.qty += q;
    else t.remaining -= q;
    t.filled += q;
    t.filledQuote += notional;
    level.qty -= q;
    m.lastPrice = p;

    const baseAmt = q * m.baseK;
    if (mk.side === BUY) {
      this.#settleBuyer(mk, m, notional, makerFee, baseAmt, f);
      this.#settleSeller(t, m, notional, takerFee, baseAmt, f);
    } else {
      this.#settleBuyer(t, m, notional, takerFee, baseAmt, f);
      this.#settleSeller(mk, m, notional, makerFee, baseAmt, f);
    }
    const fees = makerFee + takerFee;
    if (fees > 0) this.#move(this.feeUser, m.quote, fees, 0, W_FEE, f, 0);

    if (mk.remaining === 0) {
      mk.status = FILLED;
      this.#unrest(mk);
    } else {
      mk.status = PARTIALLY_FILLED;
    }
    out.order(mk, EV_TRADE, f);
    t.status = t.remaining === 0 && t.quoteQty === 0 ? FILLED : PARTIALLY_FILLED;
    out.order(t, EV_TRADE, f);
  }

  /**
   * The buyer pays `notional + fee` quote and receives `baseAmt` base. A LIMIT buyer pays from its
   * lock and then holds exactly what its remainder needs; the rest of the lock (price improvement,
   * fee rounding) goes back to free.
   */
  #settleBuyer(o: Order, m: Market, notional: number, fee: number, baseAmt: number, f: number): void {
    const u = o.user;
    const quote = m.quote;
    if (o.type === LIMIT) {
      const keep = o.remaining > 0 ? this.buyLockFor(o, o.price, o.remaining) : 0;
      const release = o.locked - notional - fee - keep;
      o.locked = keep;
      this.#move(u, quote, 0, -notional, W_TRADE, f, 0);
      if (fee > 0) this.#move(u, quote, 0, -fee, W_FEE, f, 0);
      if (release !== 0) this.#move(u, quote, release, -release, W_UNLOCK, f, o.id);
    } else {
      this.#move(u, quote, -notional, 0, W_TRADE, f, 0);
      if (fee > 0) this.#move(u, quote, -fee, 0, W_FEE, f, 0);
    }
    this.#move(u, m.base, baseAmt, 0, W_TRADE, f, 0);
  }

  /** The seller gives `baseAmt` base (from its lock for a LIMIT) and receives `notional - fee` quote. */
  #settleSeller(o: Order, m: Market, notional: number, fee: number, baseAmt: number, f: number): void {
    const u = o.user;
    if (o.type === LIMIT) {
      o.locked -= baseAmt;
      this.#move(u, m.base, 0, -baseAmt, W_TRADE, f, 0);
    } else {
      this.#move(u, m.base, -baseAmt, 0, W_TRADE, f, 0);
    }
    this.#move(u, m.quote, notional, 0, W_TRADE, f, 0);
    if (fee > 0) this.#move(u, m.quote, -fee, 0, W_FEE, f, 0);
  }

  /**
   * What a buy order with `remaining` lots at `price` must hold locked: the notional plus the most
   * fee it can still be charged (at the lock rate), given the fees it already accumulated.
   */
  buyLockFor(o: Order, price: number, remaining: number): number {
    const n = price * remaining * o.market.k;
    const rates = this.ratesOf(o);
    return n + feeDelta(o.feeWq, o.feeWr, n, Math.max(rates.makerBps, rates.takerBps));
  }

  /** The fee rates `o` was accepted under. */
  ratesOf(o: Order): FeeRates {
    const h = this.feeHistory;
    const own = h[h.length - 1]!;
    if (h.length === 1 || o.id >= own.fromOrderId) return own;
    let lo = 0, hi = h.length - 1; // the entry is in [lo, hi)
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (h[mid]!.fromOrderId <= o.id) lo = mid;
      else hi = mid;
    }
    return h[lo]!;
  }

  /**
   * Takes over the fee history of a restored state and adds this core's rates for the orders from
   * the next id on when they differ from the last recorded ones.
   */
  adoptFeeHistory(history: readonly FeeRates[]): void {
    if (history.length === 0) return;
    const own = { fromOrderId: this.lastOrderId + 1, makerBps: this.makerBps, takerBps: this.takerBps };
    const next = [...history];
    // Rates that covered no order (fees changed twice with no order between) leave no trace, so the
    // history is the same however many restarts led here: a replay must arrive at the same state.
    if (next[next.length - 1]!.fromOrderId === own.fromOrderId) next.pop();
    const last = next[next.length - 1];
    if (last === undefined || last.makerBps !== own.makerBps || last.takerBps !== own.takerBps) {
      next.push(next.length === 0 ? { ...own, fromOrderId: 0 } : own);
    }
    this.feeHistory = next;
  }

  /** Puts a limit order's remainder on the book. */
  #rest(o: Order, m: Market): void {
    const level = (o.side === BUY ? m.bids : m.asks).getOrCreate(o.price);
    const tail = level.tail;
    o.prev = tail;
    if (tail === null) level.head = o;
    else tail.next = o;
    level.tail = o;
    level.qty += o.remaining;
    level.count++;
    o.level = level;
    this.orders.add(o);
    const u = o.user;
    const ut = u.tail;
    o.uPrev = ut;
    if (ut === null) u.head = o;
    else ut.uNext = o;
    u.tail = o;
    u.openCount++;
    if (o.clientOrderId !== undefined) (u.coids ??= new Map()).set(o.clientOrderId, o);
    this.out.touch(m, o.side, o.price);
  }

  /** Takes a resting order off its level, the order index and its user's open list. */
  #unrest(o: Order): void {
    const level = o.level!;
    const prev = o.prev;
    const next = o.next;
    if (prev === null) level.head = next;
    else prev.next = next;
    if (next === null) level.tail = prev;
    else next.prev = prev;
    level.qty -= o.remaining;
    level.count--;
    o.prev = null;
    o.next = null;
    o.level = null;
    this.orders.remove(o);
    const u = o.user;
    const up = o.uPrev;
    const un = o.uNext;
    if (up === null) u.head = un;
    else up.uNext = un;
    if (un === null) u.tail = up;
    else un.uPrev = up;
    o.uPrev = null;
    o.uNext = null;
    u.openCount--;
    if (o.clientOrderId !== undefined) {
      u.coids!.delete(o.clientOrderId);
      this.#remember(o);
    }
  }

  /** Ends a resting order (cancel or self-trade expiry): releases its lock and records the event. */
  #endResting(o: Order, m: Market, status: number, kind: number): void {
    const level = o.level!;
    this.out.touch(m, o.side, o.price);
    this.#unrest(o);
    if (level.head === null) (o.side === BUY ? m.bids : m.asks).remove(level);
    const l = o.locked;
    if (l > 0) {
      o.locked = 0;
      this.#move(o.user, o.side === BUY ? m.quote : m.base, l, -l, W_UNLOCK, -1, o.id);
    }
    o.status = status;
    this.out.order(o, kind, -1);
  }

  /**
   * Self-trade prevention removed a resting order. The matching loop pops its (best) level itself
   * when it empties, so the level is not removed here.
   */
  #expireMaker(o: Order, m: Market): void {
    this.#unrest(o);
    const l = o.locked;
    if (l > 0) {
      o.locked = 0;
      this.#move(o.user, o.side === BUY ? m.quote : m.base, l, -l, W_UNLOCK, -1, o.id);
    }
    o.status = o.filled > 0 ? PARTIALLY_FILLED : EXPIRED;
    o.expireReason = EXPIRE_SELF_TRADE;
    this.out.order(o, EV_EXPIRED, -1);
  }

  /**
   * Cancels a user's open order by internal id (or, with id < 0, by clientOrderId), optionally only
   * on market `m`. R_UNKNOWN_ORDER when it is not an open order of this user.
   */
  cancel(user: User, id: number, clientOrderId: string | undefined, m: Market | null): number {
    let o: Order | undefined;
    if (id >= 0) o = this.orders.get(id);
    else if (clientOrderId !== undefined) o = user.coids?.get(clientOrderId);
    if (o === undefined || o.user !== user || o.level === null || (m !== null && o.market !== m)) {
      return this.#reject(R_UNKNOWN_ORDER, id >= 0 ? "orderId" : "clientOrderId", "order not found");
    }
    this.#endResting(o, o.market, CANCELED, EV_CANCELED);
    this.order = o;
    return R_OK;
  }

  /** Cancels every open order of `user` on `m`, oldest first. */
  cancelAll(user: User, m: Market): number {
    const canceled: Order[] = [];
    for (let o = user.head; o !== null;) {
      const next = o.uNext;
      if (o.market === m) {
        this.#endResting(o, m, CANCELED, EV_CANCELED);
        canceled.push(o);
      }
      o = next;
    }
    this.canceled = canceled;
    return R_OK;
  }

  // ---------------------------------------------------------------- helpers

  #reject(code: number, field: string, message: string): number {
    this.rejectField = field;
    this.rejectMessage = message;
    return code;
  }

  #insufficient(asset: number, need: number, free: number, field = "qty", what = ""): number {
    const a = this.assets[asset]!;
    const needs = `needs ${amountText(need, a.decimals)} ${a.code}`;
    return this.#reject(
      R_INSUFFICIENT_BALANCE,
      field,
      `insufficient ${a.code}: this order ${what ? `${needs} for ${what}` : needs} and ` +
        `${amountText(free, a.decimals)} ${a.code} is free`,
    );
  }

  #minQtyText(m: Market): string {
    return stepsText(Math.max(1, m.minQty), m.lot);
  }

  /** Internal id of a wire order id `ord-<epoch>-<n>`, or -1. */
  parseOrderId(id: string): number {
    const prefix = `ord-${this.epoch}-`;
    if (this.epoch === undefined || !id.startsWith(prefix)) return -1;
    const digits = id.slice(prefix.length);
    if (!/^[1-9][0-9]{0,15}$/.test(digits)) return -1;
    return Number(digits);
  }

  orderIdText(id: number): string {
    return `ord-${this.epoch}-${id}`;
  }

  tradeIdText(id: number): string {
    return `trd-${this.epoch}-${id}`;
  }
}
