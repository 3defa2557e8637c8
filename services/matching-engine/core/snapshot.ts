/**
 * The core's whole state as a compact JSON-serializable value, and back.
 *
 * Orders are stored as columns (one array per field) rather than one object per order: a million
 * resting orders become a few dozen flat arrays of numbers, which JSON writes and parses quickly.
 * Resting orders are listed in id order, which is also the time priority within each level and
 * the order of each user's open list, so restoring appends them as they were.
 * @module
 */
import { Core, type CoreConfig, type FeeRates } from "./core.ts";
import { Ladder } from "./ladder.ts";
import { BUY, closedOldestFirst, LIMIT, Market, Order, User } from "./model.ts";
import { marketUnits } from "./units.ts";
import type { MarketSpec } from "@lib/contracts";

/** Format version of `CoreState` (2 added `feeHistory`; a version 1 state is still read). */
export const CORE_STATE_VERSION = 2;

/** Orders as columns; entry i of every array describes order i. */
export interface OrderColumns {
  id: number[];
  user: number[];
  market: number[];
  /** side | type << 1 | tif << 2 | stp << 4 | postOnly << 6 */
  flags: number[];
  price: number[];
  qty: number[];
  quoteQty: number[];
  filled: number[];
  filledQuote: number[];
  locked: number[];
  feeWq: number[];
  feeWr: number[];
  status: number[];
  expireReason: number[];
  createdAt: number[];
  /** "" when the order has no clientOrderId. */
  clientOrderId: string[];
  /** What the placing reply said: [status, filled, filledQuote, expireReason], only for orders with a clientOrderId. */
  place: number[][];
}

export interface CoreState {
  version: number;
  epoch: string | null;
  lastOrderId: number;
  lastTradeId: number;
  assets: [code: string, decimals: number][];
  supply: number[];
  markets: {
    spec: MarketSpec;
    lastPrice: number;
    tradeSeq: number;
    bookSeq: number;
    /** Prices of the book's levels, worst to best, so restore can create them in order. */
    bidLevels: number[];
    askLevels: number[];
  }[];
  /** User ids in index order (index 0 is the fee account). */
  users: string[];
  userUpdatedAt: number[];
  /** Balances, user-major: entry u * assets.length + a. */
  free: number[];
  locked: number[];
  /** Resting orders, in id order. */
  book: OrderColumns;
  /** Recently closed orders that carried a clientOrderId, per user oldest first. */
  closed: OrderColumns;
  /** The fee rates orders were accepted under (see `FeeRates`); absent in version 1. */
  feeHistory?: FeeRates[];
}

function columns(n: number): OrderColumns {
  return {
    id: new Array(n),
    user: new Array(n),
    market: new Array(n),
    flags: new Array(n),
    price: new Array(n),
    qty: new Array(n),
    quoteQty: new Array(n),
    filled: new Array(n),
    filledQuote: new Array(n),
    locked: new Array(n),
    feeWq: new Array(n),
    feeWr: new Array(n),
    status: new Array(n),
    expireReason: new Array(n),
    createdAt: new Array(n),
    clientOrderId: new Array(n),
    place: [],
  };
}

function putOrder(c: OrderColumns, i: number, o: Order): void {
  c.id[i] = o.id;
  c.user[i] = o.user.idx;
  c.market[i] = o.market.idx;
  c.flags[i] = o.side | (o.type << 1) | (o.tif << 2) | (o.stp << 4) | (o.postOnly ? 64 : 0);
  c.price[i] = o.price;
  c.qty[i] = o.qty;
  c.quoteQty[i] = o.quoteQty;
  c.filled[i] = o.filled;
  c.filledQuote[i] = o.filledQuote;
  c.locked[i] = o.locked;
  c.feeWq[i] = o.feeWq;
  c.feeWr[i] = o.feeWr;
  c.status[i] = o.status;
  c.expireReason[i] = o.expireReason;
  c.createdAt[i] = o.createdAt;
  c.clientOrderId[i] = o.clientOrderId ?? "";
  if (o.placed !== null) {
    c.place.push([o.placed.status, o.placed.filled, o.placed.filledQuote, o.placed.expireReason]);
  }
}

/** The core's state as plain data. Takes no copy of anything the core will mutate later. */
export function encodeCore(core: Core): CoreState {
  const nAssets = core.assets.length;
  const free: number[] = new Array(core.users.length * nAssets);
  const locked: number[] = new Array(core.users.length * nAssets);
  for (const u of core.users) {
    for (let a = 0; a < nAssets; a++) {
      free[u.idx * nAssets + a] = u.free[a]!;
      locked[u.idx * nAssets + a] = u.locked[a]!;
    }
  }
  // Id order is also each level's time priority and each user's open-list order.
  const book = columns(core.orders.size);
  let i = 0;
  for (const o of core.orders.values()) putOrder(book, i++, o);
  let nClosed = 0;
  for (const u of core.users) nClosed += u.closed?.length ?? 0;
  const closed = columns(nClosed);
  i = 0;
  for (const u of core.users) {
    for (const o of closedOldestFirst(u)) putOrder(closed, i++, o);
  }
  return {
    version: CORE_STATE_VERSION,
    epoch: core.epoch ?? null,
    lastOrderId: core.lastOrderId,
    lastTradeId: core.lastTradeId,
    assets: core.assets.map((a) => [a.code, a.decimals]),
    supply: [...core.supply],
    markets: core.markets.map((m) => ({
      spec: m.spec,
      lastPrice: m.lastPrice,
      tradeSeq: m.tradeSeq,
      bookSeq: m.bookSeq,
      bidLevels: m.bids.levels.map((l) => l.price),
      askLevels: m.asks.levels.map((l) => l.price),
    })),
    users: core.users.map((u) => u.id),
    userUpdatedAt: core.users.map((u) => u.updatedAt),
    free,
    locked,
    book,
    closed,
    feeHistory: core.feeHistory.map((r) => ({ ...r })),
  };
}

function fail(message: string): never {
  throw new Error(`cannot restore engine state: ${message}`);
}

function readOrder(core: Core, c: OrderColumns, i: number, placeIdx: number): Order {
  const user = core.users[c.user[i]!] ?? fail(`order ${c.id[i]} has unknown user index ${c.user[i]}`);
  const market = core.markets[c.market[i]!] ??
    fail(`order ${c.id[i]} has unknown market index ${c.market[i]}`);
  const flags = c.flags[i]!;
  const coid = c.clientOrderId[i]!;
  const o = new Order(
    c.id[i]!,
    user,
    market,
    flags & 1,
    (flags >> 1) & 1,
    (flags >> 2) & 3,
    (flags & 64) !== 0,
    (flags >> 4) & 3,
    c.price[i]!,
    c.qty[i]!,
    c.quoteQty[i]!,
    coid === "" ? undefined : coid,
    c.createdAt[i]!,
  );
  o.filled = c.filled[i]!;
  o.remaining = o.quoteQty > 0 ? 0 : o.qty - o.filled;
  o.filledQuote = c.filledQuote[i]!;
  o.locked = c.locked[i]!;
  o.feeWq = c.feeWq[i]!;
  o.feeWr = c.feeWr[i]!;
  o.status = c.status[i]!;
  o.expireReason = c.expireReason[i]!;
  if (o.clientOrderId !== undefined) {
    const p = c.place[placeIdx] ?? fail(`order ${o.id} lacks its place record`);
    o.placed = { status: p[0]!, filled: p[1]!, filledQuote: p[2]!, expireReason: p[3]! };
  }
  return o;
}

/**
 * Rebuilds a core from `encodeCore` output. `config` and `startBalances` come from the current
 * settings; assets, markets, users, balances, orders and counters come from the state.
 */
export function decodeCore(config: CoreConfig, state: CoreState, startBalances: Map<string, number>): Core {
  if (state?.version !== CORE_STATE_VERSION && state?.version !== 1) {
    fail(`state version ${state?.version} is not ${CORE_STATE_VERSION}; this engine cannot read it`);
  }
  const core = new Core(config);
  if (state.users[0] !== config.feeAccount) {
    fail(`fee account is "${state.users[0]}" in the snapshot but "${config.feeAccount}" in the settings`);
  }
  for (const [code, decimals] of state.assets) core.addAsset(code, decimals);
  for (let a = 0; a < state.supply.length; a++) core.supply[a] = state.supply[a]!;
  for (const [code, amount] of startBalances) {
    const a = core.assetIndex.get(code) ?? fail(`start balance asset ${code} is unknown`);
    core.setStartBalance(a, amount);
  }
  for (const ms of state.markets) {
    const base = core.assetIndex.get(ms.spec.base) ?? fail(`market ${ms.spec.symbol} base unknown`);
    const quote = core.assetIndex.get(ms.spec.quote) ?? fail(`market ${ms.spec.symbol} quote unknown`);
    const units = marketUnits(ms.spec, core.assets[base]!.decimals, core.assets[quote]!.decimals);
    if ("message" in units) fail(`market ${ms.spec.symbol}: ${units.message}`);
    const m = new Market(core.markets.length, ms.spec, base, quote, units, new Ladder(1), new Ladder(-1));
    m.lastPrice = ms.lastPrice;
    m.tradeSeq = ms.tradeSeq;
    m.bookSeq = ms.bookSeq;
    // Levels first, worst to best: each is appended at the end, no insertion in the middle.
    for (const price of ms.bidLevels) m.bids.getOrCreate(price);
    for (const price of ms.askLevels) m.asks.getOrCreate(price);
    core.markets.push(m);
    core.marketIndex.set(m.symbol, m);
  }
  const nAssets = core.assets.length;
  for (let i = 0; i < state.users.length; i++) {
    let u: User;
    if (i === 0) u = core.feeUser;
    else {
      u = new User(i, state.users[i]!, nAssets);
      core.users.push(u);
      core.userIndex.set(u.id, u);
    }
    u.updatedAt = state.userUpdatedAt[i]!;
    for (let a = 0; a < nAssets; a++) {
      u.free[a] = state.free[i * nAssets + a]!;
      u.locked[a] = state.locked[i * nAssets + a]!;
    }
  }

  const book = state.book;
  let placeIdx = 0;
  let lastId = 0;
  for (let i = 0; i < book.id.length; i++) {
    const o = readOrder(core, book, i, placeIdx);
    if (o.clientOrderId !== undefined) placeIdx++;
    if (o.type !== LIMIT) fail(`resting order ${o.id} is not a LIMIT order`);
    if (o.id <= lastId) fail(`resting orders are not in id order at ${o.id}`);
    lastId = o.id;
    const m = o.market;
    const level = (o.side === BUY ? m.bids : m.asks).getOrCreate(o.price);
    o.prev = level.tail;
    if (level.tail === null) level.head = o;
    else level.tail.next = o;
    level.tail = o;
    level.qty += o.remaining;
    level.count++;
    o.level = level;
    core.orders.add(o);
    const u = o.user;
    o.uPrev = u.tail;
    if (u.tail === null) u.head = o;
    else u.tail.uNext = o;
    u.tail = o;
    u.openCount++;
    if (o.clientOrderId !== undefined) (u.coids ??= new Map()).set(o.clientOrderId, o);
  }
  const closed = state.closed;
  placeIdx = 0;
  for (let i = 0; i < closed.id.length; i++) {
    const o = readOrder(core, closed, i, placeIdx);
    placeIdx++;
    const u = o.user;
    (u.closed ??= []).push(o);
    (u.coids ??= new Map()).set(o.clientOrderId!, o);
  }
  for (const m of core.markets) {
    for (const ladder of [m.bids, m.asks]) {
      for (const level of ladder.levels) {
        if (level.head === null) fail(`${m.symbol} has an empty level ${level.price}`);
      }
    }
  }
  core.epoch = state.epoch ?? undefined;
  core.lastOrderId = state.lastOrderId;
  core.lastTradeId = state.lastTradeId;
  // a version 1 state knew no history: its orders are taken to have the current rates, as then
  if (state.feeHistory) core.adoptFeeHistory(state.feeHistory);
  return core;
}
