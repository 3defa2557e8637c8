/**
 * The matching engine behind `engine_api.ts`: decodes wire commands (decimal strings) into the
 * core's integers, applies them to the pure core, and writes what happened back in wire form.
 * Deterministic: the same commands with the same meta give byte-identical outputs.
 * @module
 */
import {
  type AssetSpec,
  type BookDelta,
  type BookSnapshot,
  DEFAULT_ASSETS,
  DEFAULT_MARKETS,
  DEFAULT_START_BALANCES,
  type EngineCommand,
  type EngineReply,
  type Execution,
  type Level as WireLevel,
  type OrderAck,
  type OrderEvent,
  type PlaceOrderCommand,
  type RejectReason,
  type WalletEvent,
  type WalletView,
} from "@lib/contracts";
import type {
  CommandMeta,
  CommandOutput,
  EngineSettings,
  EngineSnapshot,
  MatchingEngine,
  ReadModelChanges,
} from "./engine_api.ts";
import { Core, type CoreConfig, DEFAULT_CLOSED_CLIENT_ORDER_IDS } from "./core/core.ts";
import { ORDER_EVENT_KINDS, WALLET_REASONS } from "./core/events.ts";
import {
  BUY,
  EXPIRE_REASONS,
  type Market,
  MAX_SAFE,
  type Order,
  ORDER_TYPES,
  SIDES,
  STATUSES,
  STP_MODES,
  TIME_IN_FORCES,
  type User,
} from "./core/model.ts";
import { R_DUPLICATE, R_OK, R_UNKNOWN_ORDER, REJECT_REASONS } from "./core/reasons.ts";
import type { Ladder } from "./core/ladder.ts";
import { type CoreState, decodeCore, encodeCore } from "./core/snapshot.ts";
import { amountText, stepsText, toMinor, toStepsChecked } from "./core/units.ts";

/** Version of `EngineSnapshot.state` written by this engine. */
export const SNAPSHOT_VERSION = 1;

/** Settings built from the default assets, markets and start balances of `@lib/contracts`. */
export function defaultEngineSettings(): EngineSettings {
  return {
    assets: DEFAULT_ASSETS.map((a) => ({ ...a })),
    markets: DEFAULT_MARKETS.map((m) => ({ ...m })),
    makerFeeBps: 0,
    takerFeeBps: 0,
    startBalances: { ...DEFAULT_START_BALANCES },
    priceBandPct: 20,
    maxOpenOrdersPerUser: 500,
    feeAccount: "kalency-fees",
    bookDepth: 100,
  };
}

/** A fresh engine: the settings' assets and markets, no users, no orders. */
export function createEngine(settings: EngineSettings): MatchingEngine {
  const core = new Core(coreConfig(settings));
  for (const a of settings.assets) addAssetChecked(core, a);
  for (const spec of settings.markets) {
    const r = core.addMarket(spec);
    if (r !== R_OK) throw new RangeError(`market ${spec.symbol}: ${core.rejectMessage}`);
  }
  // After the markets, which may bring assets of their own (with 8 decimals).
  setStartBalances(settings, core);
  return new Engine(settings, core, undefined);
}

/**
 * An engine continuing from a snapshot. Assets, markets (with their status), users, balances,
 * orders, id counters and sequences come from the snapshot; fees, limits and start balances come
 * from `settings`. Markets in the settings that the snapshot lacks are added.
 */
export function restoreEngine(settings: EngineSettings, snapshot: EngineSnapshot): MatchingEngine {
  if (snapshot?.version !== SNAPSHOT_VERSION) {
    throw new Error(
      `cannot restore engine snapshot version ${snapshot?.version}: this engine reads version ${SNAPSHOT_VERSION}`,
    );
  }
  const state = snapshot.state as CoreState;
  const core = decodeCore(coreConfig(settings), state, new Map());
  for (const a of settings.assets) addAssetChecked(core, a);
  for (const spec of settings.markets) {
    if (!core.marketIndex.has(spec.symbol)) {
      const r = core.addMarket(spec);
      if (r !== R_OK) throw new RangeError(`market ${spec.symbol}: ${core.rejectMessage}`);
    }
  }
  setStartBalances(settings, core);
  return new Engine(settings, core, snapshot.lastCommandId);
}

/**
 * The pure core inside an engine made here, for inspection (invariant checks in tests and tools).
 * Mutating it bypasses the engine's outputs.
 */
export function inspectCore(engine: MatchingEngine): Core {
  if (!(engine instanceof Engine)) throw new TypeError("not an engine made by createEngine/restoreEngine");
  return engine.core;
}

function coreConfig(settings: EngineSettings): CoreConfig {
  return {
    makerFeeBps: settings.makerFeeBps,
    takerFeeBps: settings.takerFeeBps,
    priceBandPct: settings.priceBandPct,
    maxOpenOrdersPerUser: settings.maxOpenOrdersPerUser,
    feeAccount: settings.feeAccount,
    closedClientOrderIds: DEFAULT_CLOSED_CLIENT_ORDER_IDS,
  };
}

function addAssetChecked(core: Core, a: AssetSpec): void {
  const known = core.assetIndex.get(a.code);
  if (known !== undefined && core.assets[known]!.decimals !== a.decimals) {
    throw new RangeError(
      `asset ${a.code} has ${
        core.assets[known]!.decimals
      } decimals in the state but ${a.decimals} in the settings`,
    );
  }
  core.addAsset(a.code, a.decimals);
}

function setStartBalances(settings: EngineSettings, core: Core): void {
  for (const code of Object.keys(settings.startBalances).sort()) {
    const idx = core.assetIndex.get(code);
    if (idx === undefined) throw new RangeError(`start balance asset ${code} is not a known asset`);
    const v = toMinor(settings.startBalances[code]!, core.assets[idx]!.decimals);
    if (typeof v !== "number") {
      throw new RangeError(
        `start balance ${code}=${settings.startBalances[code]} is not a valid ${code} amount`,
      );
    }
    core.setStartBalance(idx, v);
  }
}

const SIDE_CODES: Record<string, number> = { BUY: 0, SELL: 1 };
const TIF_CODES: Record<string, number> = { GTC: 0, IOC: 1, FOK: 2 };
const STP_CODES: Record<string, number> = { EXPIRE_TAKER: 0, EXPIRE_MAKER: 1, EXPIRE_BOTH: 2, NONE: 3 };

class Rejected {
  constructor(readonly reason: RejectReason, readonly field: string, readonly message: string) {}
}

class Engine implements MatchingEngine {
  readonly #settings: EngineSettings;
  readonly #core: Core;
  #lastCommandId: string | undefined;
  #lastTs = 0;
  /** Per market index: price ticks -> text. */
  #prices: Map<number, string>[] = [];

  // Read-model changes since the last takeChanges(); Sets keep first-touch order (deterministic).
  /**
   * Orders changed, with the wire form of their latest event: every change of an order's state
   * comes with an event, so that form is the order as it is now, with the time of its latest change.
   */
  #dirtyOrders = new Map<Order, OrderAck>();
  #closedIds = new Set<Order>();
  #dirtyUsers = new Set<User>();
  #dirtyMarkets = new Set<Market>();
  #dirtyBooks = new Set<Market>();
  /**
   * Time of each book's last change. The book read model carries it, so a replay that collects its
   * changes once at the end writes the same book as the live engine, which writes one per batch.
   */
  #bookTs = new Map<Market, number>();

  constructor(settings: EngineSettings, core: Core, lastCommandId: string | undefined) {
    this.#settings = settings;
    this.#core = core;
    this.#lastCommandId = lastCommandId;
  }

  get core(): Core {
    return this.#core;
  }

  get lastCommandId(): string | undefined {
    return this.#lastCommandId;
  }

  apply(command: EngineCommand, meta: CommandMeta): CommandOutput {
    const core = this.#core;
    core.begin(meta.ts);
    this.#lastTs = meta.ts;
    let reply: EngineReply;
    try {
      reply = this.#dispatch(command);
    } catch (e) {
      if (!(e instanceof Rejected)) throw e;
      reply = { ok: false, cmdId: command.cmdId, reason: e.reason, message: e.message, field: e.field };
    }
    const output = this.#collect(reply, command.replyTo);
    this.#lastCommandId = meta.id;
    return output;
  }

  #dispatch(c: EngineCommand): EngineReply {
    const core = this.#core;
    switch (c.type) {
      case "place":
        return this.#place(c);
      case "cancel": {
        const user = core.userIndex.get(c.userId);
        let market: Market | null = null;
        if (c.symbol !== undefined) market = this.#market(c.symbol);
        if (c.orderId === undefined && c.clientOrderId === undefined) {
          throw new Rejected("INVALID_ORDER", "orderId", "give orderId or clientOrderId");
        }
        const id = c.orderId !== undefined ? core.parseOrderId(c.orderId) : -1;
        if (user === undefined || (c.orderId !== undefined && id < 0)) {
          throw new Rejected(
            "UNKNOWN_ORDER",
            c.orderId !== undefined ? "orderId" : "clientOrderId",
            notFound(c),
          );
        }
        const r = core.cancel(user, id, c.orderId !== undefined ? undefined : c.clientOrderId, market);
        if (r === R_UNKNOWN_ORDER) throw new Rejected("UNKNOWN_ORDER", core.rejectField, notFound(c));
        this.#check(r);
        return { ok: true, cmdId: c.cmdId, order: this.#ack(core.order!, this.#lastTs) };
      }
      case "cancelAll": {
        const market = this.#market(c.symbol);
        const user = core.userIndex.get(c.userId);
        if (user === undefined) return { ok: true, cmdId: c.cmdId, orders: [] };
        this.#check(core.cancelAll(user, market));
        return { ok: true, cmdId: c.cmdId, orders: core.canceled.map((o) => this.#ack(o, this.#lastTs)) };
      }
      case "openAccount": {
        const user = this.#user(c.userId);
        return { ok: true, cmdId: c.cmdId, wallet: this.#wallet(user) };
      }
      case "deposit": {
        const asset = core.assetIndex.get(c.asset);
        if (asset === undefined) {
          throw new Rejected(
            "UNKNOWN_ASSET",
            "asset",
            `unknown asset ${c.asset}; known: ${this.#assetList()}`,
          );
        }
        const decimals = core.assets[asset]!.decimals;
        const amount = toMinor(c.amount, decimals);
        if (amount === "precise" || amount === "bad") {
          throw new Rejected(
            "INVALID_AMOUNT",
            "amount",
            `amount must have at most ${decimals} decimals for ${c.asset}`,
          );
        }
        if (amount === "large") {
          throw new Rejected(
            "AMOUNT_TOO_LARGE",
            "amount",
            `amount must be at most ${amountText(MAX_SAFE, decimals)} ${c.asset}`,
          );
        }
        const user = this.#user(c.userId);
        const r = core.deposit(user, asset, amount);
        this.#check(r);
        return { ok: true, cmdId: c.cmdId, wallet: this.#wallet(user) };
      }
      case "setMarketStatus": {
        const market = this.#market(c.symbol);
        core.setMarketStatus(market, c.status === "TRADING");
        this.#dirtyMarkets.add(market);
        return { ok: true, cmdId: c.cmdId, market: market.spec };
      }
      case "addMarket": {
        const r = core.addMarket(c.market);
        this.#check(r);
        const market = core.market!;
        this.#dirtyMarkets.add(market);
        return { ok: true, cmdId: c.cmdId, market: market.spec };
      }
      default: {
        const unknown = c as { type?: unknown };
        throw new Rejected("INVALID_ORDER", "type", `unknown command type ${JSON.stringify(unknown.type)}`);
      }
    }
  }

  #place(c: PlaceOrderCommand): EngineReply {
    const core = this.#core;
    const m = this.#market(c.symbol);
    const isLimit = c.orderType === "LIMIT";
    let price = 0;
    let qty = 0;
    let quoteQty = 0;
    if (isLimit) {
      if (c.price === undefined) {
        throw new Rejected("INVALID_ORDER", "price", "price is required on a LIMIT order");
      }
      if (c.qty === undefined) throw new Rejected("INVALID_ORDER", "qty", "qty is required on a LIMIT order");
      if (c.quoteQty !== undefined) {
        throw new Rejected("INVALID_ORDER", "quoteQty", "quoteQty is only allowed on MARKET BUY orders");
      }
      const p = toStepsChecked(c.price, m.tick);
      if (p === "off") {
        throw new Rejected(
          "PRICE_OFF_TICK",
          "price",
          `price ${c.price} is not a multiple of the tick size ${m.spec.tickSize} of ${m.symbol}`,
        );
      }
      if (p === "large") throw new Rejected("INVALID_ORDER", "price", `price ${c.price} is too large`);
      if (p === 0) throw new Rejected("INVALID_ORDER", "price", "price must be greater than 0");
      price = p;
    } else {
      if (c.qty === undefined && c.quoteQty === undefined) {
        throw new Rejected("INVALID_ORDER", "qty", "a MARKET order needs qty (or quoteQty for a BUY)");
      }
      if (c.qty !== undefined && c.quoteQty !== undefined) {
        throw new Rejected("INVALID_ORDER", "quoteQty", "give either qty or quoteQty, not both");
      }
      if (c.quoteQty !== undefined && c.side !== "BUY") {
        throw new Rejected("INVALID_ORDER", "quoteQty", "quoteQty is only allowed on MARKET BUY orders");
      }
    }
    if (c.qty !== undefined) {
      const q = toStepsChecked(c.qty, m.lot);
      if (q === "off") {
        throw new Rejected(
          "QTY_OFF_STEP",
          "qty",
          `qty ${c.qty} is not a multiple of the step size ${m.spec.stepSize} of ${m.symbol}`,
        );
      }
      if (q === "large") {
        throw new Rejected("QTY_TOO_LARGE", "qty", `qty must be at most ${m.spec.maxQty} on ${m.symbol}`);
      }
      qty = q;
    }
    if (c.quoteQty !== undefined) {
      const decimals = core.assets[m.quote]!.decimals;
      const v = toMinor(c.quoteQty, decimals);
      if (v === "precise" || v === "bad") {
        throw new Rejected(
          "INVALID_ORDER",
          "quoteQty",
          `quoteQty must have at most ${decimals} decimals (${m.spec.quote})`,
        );
      }
      if (v === "large") {
        throw new Rejected(
          "AMOUNT_TOO_LARGE",
          "quoteQty",
          `quoteQty must be at most ${amountText(MAX_SAFE, decimals)} ${m.spec.quote} on ${m.symbol}`,
        );
      }
      if (v === 0) throw new Rejected("INVALID_ORDER", "quoteQty", "quoteQty must be greater than 0");
      quoteQty = v;
    }
    const user = this.#user(c.userId);
    const r = core.place(
      user,
      m,
      SIDE_CODES[c.side]!,
      isLimit ? 0 : 1,
      TIF_CODES[c.timeInForce ?? "GTC"]!,
      c.postOnly ?? false,
      STP_CODES[c.stp ?? "EXPIRE_TAKER"]!,
      price,
      qty,
      quoteQty,
      c.clientOrderId,
    );
    if (r === R_DUPLICATE) {
      return { ok: true, cmdId: c.cmdId, order: this.#originalAck(core.order!), duplicate: true };
    }
    this.#check(r);
    return { ok: true, cmdId: c.cmdId, order: this.#ack(core.order!, this.#lastTs) };
  }

  /** The market of `symbol`, or a rejection naming the known ones. */
  #market(symbol: string): Market {
    const m = this.#core.marketIndex.get(symbol);
    if (m === undefined) {
      const known = this.#core.markets.slice(0, 20).map((x) => x.symbol).join(", ");
      throw new Rejected("UNKNOWN_SYMBOL", "symbol", `symbol ${symbol} is not listed; markets: ${known}`);
    }
    return m;
  }

  /** The user, opened with the start balances if new. */
  #user(userId: string): User {
    const core = this.#core;
    const known = core.userIndex.get(userId);
    if (known !== undefined) return known;
    this.#check(core.openAccount(userId));
    const u = core.userIndex.get(userId)!;
    this.#dirtyUsers.add(u);
    return u;
  }

  #check(code: number): void {
    if (code === R_OK) return;
    const core = this.#core;
    throw new Rejected(REJECT_REASONS[code]!, core.rejectField, core.rejectMessage);
  }

  /** Price text of `ticks` on `m`, cached: the same few thousand prices are written over and over. */
  #priceText(m: Market, ticks: number): string {
    let cache = this.#prices[m.idx];
    if (cache === undefined) cache = this.#prices[m.idx] = new Map();
    let text = cache.get(ticks);
    if (text === undefined) {
      if (cache.size >= 50_000) cache.clear();
      text = stepsText(ticks, m.tick);
      cache.set(ticks, text);
    }
    return text;
  }

  #assetList(): string {
    return this.#core.assets.map((a) => a.code).join(", ");
  }

  // ---------------------------------------------------------------- wire form

  #ackFields(
    o: Order,
    status: number,
    expireReason: number,
    filled: number,
    filledQuote: number,
    ts: number,
  ): OrderAck {
    const m = o.market;
    const quoteMode = o.quoteQty > 0;
    const quoteDecimals = this.#core.assets[m.quote]!.decimals;
    // Every key is always present (absent ones undefined, which JSON leaves out): one object shape.
    return {
      orderId: this.#core.orderIdText(o.id),
      clientOrderId: o.clientOrderId,
      userId: o.user.id,
      symbol: m.symbol,
      side: SIDES[o.side]!,
      type: ORDER_TYPES[o.type]!,
      timeInForce: TIME_IN_FORCES[o.tif]!,
      postOnly: o.postOnly,
      stp: STP_MODES[o.stp]!,
      status: STATUSES[status]!,
      price: o.type === 0 ? this.#priceText(m, o.price) : undefined,
      qty: stepsText(quoteMode ? filled : o.qty, m.lot),
      quoteQty: quoteMode ? amountText(o.quoteQty, quoteDecimals) : undefined,
      filledQty: stepsText(filled, m.lot),
      remainingQty: stepsText(quoteMode ? 0 : o.qty - filled, m.lot),
      filledQuote: amountText(filledQuote, quoteDecimals),
      avgPrice: filled === 0 ? "0" : this.#priceText(m, avgTicks(filledQuote, m.k, filled)),
      expireReason: expireReason !== 0 ? EXPIRE_REASONS[expireReason]! : undefined,
      createdAt: o.createdAt,
      ts,
    };
  }

  /** The order as it is now. */
  #ack(o: Order, ts: number): OrderAck {
    return this.#ackFields(o, o.status, o.expireReason, o.filled, o.filledQuote, ts);
  }

  /** The order as the reply to its placing command described it. */
  #originalAck(o: Order): OrderAck {
    return this.#ackFields(
      o,
      o.placed!.status,
      o.placed!.expireReason,
      o.placed!.filled,
      o.placed!.filledQuote,
      o.createdAt,
    );
  }

  #wallet(u: User): WalletView {
    const core = this.#core;
    const balances: WalletView["balances"] = [];
    for (let a = 0; a < core.assets.length; a++) {
      const free = u.free[a]!;
      const locked = u.locked[a]!;
      if (free !== 0 || locked !== 0 || core.startBalances[a]! > 0) {
        const d = core.assets[a]!.decimals;
        balances.push({
          asset: core.assets[a]!.code,
          free: amountText(free, d),
          locked: amountText(locked, d),
        });
      }
    }
    return { userId: u.id, balances, updatedAt: u.updatedAt };
  }

  /** Turns the core's event buffers into the command's wire output, and notes read-model changes. */
  #collect(reply: EngineReply, replyTo: string | undefined): CommandOutput {
    const core = this.#core;
    const out = core.out;
    const ts = out.ts;
    const executions: Execution[] = [];
    if (out.fillCount > 0) {
      // The taker of every fill is the command's order; each maker is in its fill's TRADE event.
      const taker = core.order!;
      const makers: Order[] = new Array(out.fillCount);
      for (let i = 0; i < out.evCount; i++) {
        const f = out.evFill[i]!;
        if (f >= 0 && out.evOrder[i] !== taker) makers[f] = out.evOrder[i]!;
      }
      for (let i = 0; i < out.fillCount; i++) executions.push(this.#execution(makers[i]!, taker, i, ts));
    }
    const orderEvents: OrderEvent[] = [];
    for (let i = 0; i < out.evCount; i++) {
      const o = out.evOrder[i]!;
      const fill = out.evFill[i]!;
      const ack = this.#ackFields(
        o,
        out.evStatus[i]!,
        out.evExpire[i]!,
        out.evFilled[i]!,
        out.evFilledQuote[i]!,
        ts,
      );
      const ev: OrderEvent = fill >= 0
        ? {
          event: ORDER_EVENT_KINDS[out.evKind[i]!]!,
          order: ack,
          tradeId: core.tradeIdText(out.fTradeId[fill]!),
          ts,
        }
        : { event: ORDER_EVENT_KINDS[out.evKind[i]!]!, order: ack, ts };
      orderEvents.push(ev);
      this.#dirtyOrders.set(o, ack);
      if (o.level === null) this.#closedIds.add(o);
    }
    const walletEvents: WalletEvent[] = [];
    for (let i = 0; i < out.wCount; i++) {
      const u = core.users[out.wUser[i]!]!;
      const a = out.wAsset[i]!;
      const d = core.assets[a]!.decimals;
      const fill = out.wFill[i]!;
      const orderId = out.wOrderId[i]!;
      const ref = fill >= 0
        ? core.tradeIdText(out.fTradeId[fill]!)
        : orderId > 0
        ? core.orderIdText(orderId)
        : reply.cmdId;
      walletEvents.push({
        userId: u.id,
        asset: core.assets[a]!.code,
        freeDelta: amountText(out.wFreeDelta[i]!, d),
        lockedDelta: amountText(out.wLockedDelta[i]!, d),
        free: amountText(out.wFree[i]!, d),
        locked: amountText(out.wLocked[i]!, d),
        reason: WALLET_REASONS[out.wReason[i]!]!,
        ref,
        ts,
      });
      this.#dirtyUsers.add(u);
    }
    const bookDeltas: BookDelta[] = [];
    if (out.tCount > 0) {
      // Group touched levels by market in first-touch order; one delta per market.
      const byMarket = new Map<Market, { bids: Map<number, true>; asks: Map<number, true> }>();
      for (let i = 0; i < out.tCount; i++) {
        const m = out.tMarket[i]!;
        let e = byMarket.get(m);
        if (e === undefined) {
          e = { bids: new Map(), asks: new Map() };
          byMarket.set(m, e);
        }
        (out.tSide[i] === BUY ? e.bids : e.asks).set(out.tPrice[i]!, true);
      }
      const depth = this.#settings.bookDepth;
      for (const [m, e] of byMarket) {
        exposeEntering(e.bids, m.bids, depth);
        exposeEntering(e.asks, m.asks, depth);
        const level = (prices: Map<number, true>, side: "bids" | "asks"): WireLevel[] => {
          const ladder = side === "bids" ? m.bids : m.asks;
          const sorted = [...prices.keys()].sort((a, b) => side === "bids" ? b - a : a - b);
          return sorted.map((p) => [this.#priceText(m, p), stepsText(ladder.find(p)?.qty ?? 0, m.lot)]);
        };
        bookDeltas.push({
          symbol: m.symbol,
          seq: ++m.bookSeq,
          bids: level(e.bids, "bids"),
          asks: level(e.asks, "asks"),
          ts,
        });
        this.#dirtyBooks.add(m);
        this.#bookTs.set(m, ts);
      }
    }
    const output: CommandOutput = { reply, executions, orderEvents, walletEvents, bookDeltas };
    return replyTo !== undefined ? { replyTo, ...output } : output;
  }

  #execution(mk: Order, tk: Order, i: number, ts: number): Execution {
    const core = this.#core;
    const out = core.out;
    const m = tk.market;
    const quoteDecimals = core.assets[m.quote]!.decimals;
    const p = out.fPrice[i]!;
    const q = out.fQty[i]!;
    const takerBuys = tk.side === BUY;
    const buy = takerBuys ? tk : mk;
    const sell = takerBuys ? mk : tk;
    return {
      tradeId: core.tradeIdText(out.fTradeId[i]!),
      symbol: m.symbol,
      seq: out.fSeq[i]!,
      price: this.#priceText(m, p),
      qty: stepsText(q, m.lot),
      quoteQty: amountText(p * q * m.k, quoteDecimals),
      makerOrderId: core.orderIdText(mk.id),
      makerUserId: mk.user.id,
      takerOrderId: core.orderIdText(tk.id),
      takerUserId: tk.user.id,
      takerSide: SIDES[tk.side]!,
      buyerUserId: buy.user.id,
      sellerUserId: sell.user.id,
      buyOrderId: core.orderIdText(buy.id),
      sellOrderId: core.orderIdText(sell.id),
      makerFee: amountText(out.fMakerFee[i]!, quoteDecimals),
      takerFee: amountText(out.fTakerFee[i]!, quoteDecimals),
      feeAsset: m.spec.quote,
      ts,
    };
  }

  takeChanges(): ReadModelChanges {
    const orders = [...this.#dirtyOrders.values()];
    const closedOrderIds = [...this.#closedIds].map((o) => this.#core.orderIdText(o.id));
    const wallets = [...this.#dirtyUsers].map((u) => this.#wallet(u));
    const markets = [...this.#dirtyMarkets].map((m) => m.spec);
    const books = [...this.#dirtyBooks].map((m) => this.#bookSnapshot(m));
    this.#dirtyOrders = new Map();
    this.#closedIds = new Set();
    this.#dirtyUsers = new Set();
    this.#dirtyMarkets = new Set();
    this.#dirtyBooks = new Set();
    return { orders, closedOrderIds, wallets, markets, books };
  }

  #bookSnapshot(m: Market): BookSnapshot {
    const depth = this.#settings.bookDepth;
    const side = (levels: typeof m.bids.levels) => {
      const out: BookSnapshot["bids"] = [];
      for (let i = levels.length - 1; i >= 0 && out.length < depth; i--) {
        const l = levels[i]!;
        out.push({ price: this.#priceText(m, l.price), qty: stepsText(l.qty, m.lot), orders: l.count });
      }
      return out;
    };
    return {
      symbol: m.symbol,
      seq: m.bookSeq,
      bids: side(m.bids.levels),
      asks: side(m.asks.levels),
      ts: this.#bookTs.get(m) ?? this.#lastTs,
    };
  }

  snapshot(): EngineSnapshot {
    return { version: SNAPSHOT_VERSION, lastCommandId: this.#lastCommandId, state: encodeCore(this.#core) };
  }
}

/**
 * Adds to a delta's touched prices the levels that may have just entered the top `depth` of a side
 * (the depth of the book snapshot clients start from): each level removed by the command moves the
 * ones below it up a rank, so the `removed` levels now ranked just above `depth` were below it a
 * moment ago and a client has never seen them. Sending one a client already has is harmless: a
 * delta carries a level's total, not a change. Without this, a client's book thinned out at the
 * bottom of its window as the levels above were taken.
 */
function exposeEntering(touched: Map<number, true>, ladder: Ladder, depth: number): void {
  let removed = 0;
  for (const price of touched.keys()) if (ladder.find(price) === undefined) removed++;
  const levels = ladder.levels;
  const last = Math.min(depth, levels.length);
  for (let rank = Math.max(0, depth - removed); rank < last; rank++) {
    touched.set(levels[levels.length - 1 - rank]!.price, true);
  }
}

/** Volume-weighted average price in ticks, rounded down: filledQuote / (k * filled). */
function avgTicks(filledQuote: number, k: number, filled: number): number {
  const d = k * filled;
  if (filledQuote < 2 ** 52 && d < 2 ** 52) {
    // A float quotient, corrected to the exact floor (products stay below 2^53).
    let q = Math.floor(filledQuote / d);
    if (q * d > filledQuote) q--;
    else if ((q + 1) * d <= filledQuote) q++;
    return q;
  }
  return Number(BigInt(filledQuote) / (BigInt(k) * BigInt(filled)));
}

function notFound(c: { orderId?: string; clientOrderId?: string; symbol?: string }): string {
  const on = c.symbol === undefined ? "" : ` on ${c.symbol}`;
  return c.orderId !== undefined
    ? `order ${c.orderId} not found${on} (unknown, already closed, or another user's)`
    : `no open order with clientOrderId ${c.clientOrderId}${on} (unknown, already closed, or another user's)`;
}
