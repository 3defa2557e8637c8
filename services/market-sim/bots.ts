/**
 * Bot traders as pure decisions: given a bot's state on one symbol, what it holds, the market as the
 * model sees it and its own seeded generator, each function returns the orders the bot wants (and why
 * it skipped any). No I/O and no clock: the simulator turns intents into engine commands.
 *
 * - Market makers quote `levels` bids and asks around the model price. The half spread is at least
 *   `minHalfSpreadBps` and widens with the current volatility; quotes shift against the bot's
 *   inventory (long -> lower, short -> higher). Each action cancels the old quotes (one cancelAll) and
 *   re-quotes, unless the quotes would be the same and are still fresh. A quote is sized down to what
 *   the bot can pay for, counting what the cancelAll gives back of the quotes it still has open.
 * - Noise traders send small market orders and limit orders near the touch on a random side; their
 *   limit orders are canceled after a random time to live, if the bot still believes them open.
 * - Momentum traders buy after a rise and sell after a fall: the signal is the gap between a fast
 *   and a slow average of the log price, in units of one-minute volatility.
 *
 * What a bot can pay for and which orders it has open come from its own view of its account
 * (`account.ts`), which the engine's answers and events keep current.
 * @module
 */
import type { Side } from "@lib/contracts";
import { Funds, type OwnOrder, releaseOf } from "./account.ts";
import { baseAmount, type Market, minimumLots, quoteAmount } from "./market.ts";
import type { Rng } from "./rng.ts";

export { Funds };

export const BOT_KINDS = ["marketMakers", "noiseTraders", "momentumTraders"] as const;
export type BotKind = typeof BOT_KINDS[number];

/** Short tags used in usernames (`bot-mm-1`) and ids. */
export const KIND_TAG: Record<BotKind, string> = {
  marketMakers: "mm",
  noiseTraders: "noise",
  momentumTraders: "mom",
};

export interface KindSettings {
  count: number;
  /** Actions per second of each bot on each symbol (scaled by the regime's activity for takers). */
  ratePerSec: number;
}
export type BotPopulation = Record<BotKind, KindSettings>;

export const DEFAULT_POPULATION: BotPopulation = {
  marketMakers: { count: 2, ratePerSec: 0.5 },
  noiseTraders: { count: 4, ratePerSec: 0.5 },
  momentumTraders: { count: 2, ratePerSec: 0.2 },
};

export interface BotParams {
  /** Price levels each market maker quotes per side. */
  makerLevels: number;
  /**
   * A market maker's quote at the first level is this many typical orders (level i: (i + 1) times
   * that), so that the book holds what a person's market order of a few thousand dollars takes.
   */
  makerSizeUnits: number;
  /** Smallest half spread, in basis points of the price. */
  minHalfSpreadBps: number;
  /** Half spread grows by this many standard deviations of the price move over `spreadHorizonSec`. */
  spreadVolK: number;
  spreadHorizonSec: number;
  /** Same quotes older than this are replaced anyway. */
  maxQuoteAgeSec: number;
  /** Inventory (in typical orders) at which the skew reaches a full half spread. */
  skewRangeUnits: number;
  noiseMarketProb: number;
  noiseTtlMinSec: number;
  noiseTtlMaxSec: number;
  /** Most resting limit orders a noise trader keeps per symbol. */
  noiseMaxResting: number;
  /**
   * Most open orders a bot keeps over all symbols (stay under the engine's per-user limit, 500 by
   * default): with many symbols, market makers quote fewer levels and noise traders rest fewer orders.
   */
  maxOpenOrders: number;
  /** Momentum signal (one-minute sigmas) above which momentum traders act (each bot varies it ±25%). */
  momentumThreshold: number;
  /** A typical order is this many times the market's minimum notional. */
  unitNotionalMult: number;
  /** Buy orders need this much more quote than price x qty (fees, price moves), in percent. */
  buyMarginPct: number;
}

export const DEFAULT_BOT_PARAMS: BotParams = {
  makerLevels: 2,
  makerSizeUnits: 5,
  minHalfSpreadBps: 1.5,
  spreadVolK: 1,
  spreadHorizonSec: 2,
  maxQuoteAgeSec: 10,
  skewRangeUnits: 100, // 10 of the market makers' first-level quotes (5 typical orders each)
  noiseMarketProb: 0.35,
  noiseTtlMinSec: 10,
  noiseTtlMaxSec: 40,
  noiseMaxResting: 16,
  maxOpenOrders: 450,
  momentumThreshold: 1,
  unitNotionalMult: 20,
  buyMarginPct: 2,
};

/** The prices of a market maker's last quotes on one symbol. */
export interface Quotes {
  bids: number[];
  asks: number[];
  step: number;
}

/** One bot's state on one symbol. */
export interface BotSymbolState {
  rng: Rng;
  quotes?: Quotes;
  /** Limit orders that rest (or may), as far as the bot knows. */
  orders: OwnOrder[];
  /** A momentum trader's own threshold, drawn once. */
  threshold?: number;
}

/** The market as the model sees it at one step. */
export interface MarketContext {
  market: Market;
  step: number;
  dtSec: number;
  /** Model price in ticks. */
  priceTicks: number;
  /** Half spread a market maker would quote now, in ticks (>= 1). */
  halfSpreadTicks: number;
  /** Regime multiplier of the takers' order rates. */
  activity: number;
  /** Trend signal in one-minute sigmas (positive: rising). */
  momentum: number;
  /** Lots of a typical order at the current price. */
  unitLots: number;
  /** Open orders a bot may keep on this symbol (its share of `maxOpenOrders`). */
  orderAllowance: number;
}

export type Intent =
  | {
    type: "place";
    seq: number;
    clientOrderId: string;
    side: Side;
    orderType: "LIMIT" | "MARKET";
    /** IOC for a taker order with a limit price (see protectedTaker). */
    timeInForce?: "IOC";
    ticks?: number;
    lots: number;
  }
  | { type: "cancelAll"; seq: number }
  | { type: "cancel"; seq: number; clientOrderId: string };

/** Why a bot did not send an order it wanted to. */
export type SkipReason = "INSUFFICIENT_QUOTE" | "INSUFFICIENT_BASE" | "FLIPPED_SIDE" | "TOO_MANY_RESTING";

export interface Decision {
  intents: Intent[];
  skips: SkipReason[];
}

/** Issues command numbers (seq); a place's `clientOrderId` is derived from the number. */
export interface OrderIds {
  next(): { seq: number; clientOrderId: string };
}

const NOTHING: Decision = Object.freeze({ intents: [], skips: [] }) as Decision;

/**
 * A bot's taker order: a LIMIT IOC at most four half spreads through the model price, not a MARKET
 * order. The bots' own book is thin, so a market order could sweep it and fill at any price a user
 * happened to leave there (a user's ask 8 % above the market filled again and again); real trading
 * bots protect their market orders the same way. What does not fill at once expires.
 */
function protectedTaker(
  id: { seq: number; clientOrderId: string },
  side: Side,
  lots: number,
  ctx: MarketContext,
): Intent {
  const band = 4 * ctx.halfSpreadTicks;
  const ticks = side === "BUY" ? ctx.priceTicks + band : Math.max(1, ctx.priceTicks - band);
  return { type: "place", ...id, side, orderType: "LIMIT", timeInForce: "IOC", ticks, lots };
}

/** Half spread in ticks for a relative volatility per sqrt(second). */
export function halfSpreadTicks(priceTicks: number, sigmaPerSqrtSec: number, p: BotParams): number {
  const frac = Math.max(
    p.minHalfSpreadBps / 10_000,
    p.spreadVolK * sigmaPerSqrtSec * Math.sqrt(p.spreadHorizonSec),
  );
  return Math.max(1, Math.round(priceTicks * frac));
}

function withMargin(amount: bigint, p: BotParams): bigint {
  return amount + amount * BigInt(Math.round(p.buyMarginPct * 100)) / 10_000n;
}

function clampLots(lots: number, m: Market, ticks: number): number {
  return Math.min(m.maxLots, Math.max(minimumLots(m, ticks), Math.round(lots)));
}

function sameLevels(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The most lots, up to `want`, whose cost fits in `budget`; 0 when not even `min` lots do. */
function affordableLots(want: number, min: number, budget: bigint, cost: (lots: number) => bigint): number {
  if (cost(want) <= budget) return want;
  if (cost(min) > budget) return 0;
  let lo = min; // fits
  let hi = want; // does not
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (cost(mid) <= budget) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Records a limit order the bot sends: what it will lock is reserved, and it is tracked until it closes. */
function sendLimit(
  s: BotSymbolState,
  funds: Funds,
  ctx: MarketContext,
  id: { seq: number; clientOrderId: string },
  side: Side,
  ticks: number,
  lots: number,
  lock: { asset: string; amount: bigint },
  expireStep?: number,
): Intent {
  funds.reserve(id.seq, lock.asset, lock.amount, ctx.step);
  s.orders.push({ ...id, side, ticks, lots, state: "sent", since: ctx.step, expireStep });
  return { type: "place", ...id, side, orderType: "LIMIT", ticks, lots };
}

/**
 * A market maker's action on one symbol: cancel the old quotes and quote both sides again, each
 * quote sized down to what the bot can pay for.
 */
export function decideMarketMaker(
  s: BotSymbolState,
  funds: Funds,
  ctx: MarketContext,
  ratePerSec: number,
  p: BotParams,
  ids: OrderIds,
): Decision {
  if (s.rng.poisson(ratePerSec * ctx.dtSec) === 0) return NOTHING;
  const m = ctx.market;
  const half = ctx.halfSpreadTicks;
  // inventory against the holdings at start, in typical orders: long shifts quotes down, short up
  const held = funds.held(m.base);
  const reference = funds.reference.get(m.base) ?? held;
  const unitBase = baseAmount(m, ctx.unitLots);
  const invUnits = Number((held - reference) * 1000n / unitBase) / 1000;
  const skew = Math.max(-1, Math.min(1, invUnits / p.skewRangeUnits));
  const center = ctx.priceTicks - Math.round(skew * half);
  const levels = Math.max(1, Math.min(p.makerLevels, Math.floor(ctx.orderAllowance / 2)));
  const bids: number[] = [];
  const asks: number[] = [];
  for (let i = 0; i < levels; i++) {
    const bid = center - half - i * half;
    if (bid >= 1) bids.push(bid);
    asks.push(center + half + i * half);
  }
  const live = s.orders.filter((o) => o.state !== "canceling");
  const old = s.quotes;
  const fresh = old && ctx.step - old.step < p.maxQuoteAgeSec / ctx.dtSec;
  // the same quotes, fresh and none filled: nothing to do
  if (
    fresh && sameLevels(old.bids, bids) && sameLevels(old.asks, asks) &&
    live.length === old.bids.length + old.asks.length
  ) return NOTHING;

  // the engine runs the cancelAll first: what it gives back of the open quotes pays for new ones
  let quoteFree = funds.free(m.quote);
  let baseFree = funds.free(m.base);
  for (const o of live) {
    if (o.side === "BUY") quoteFree += releaseOf(o, m, funds);
    else baseFree += releaseOf(o, m, funds);
  }
  const intents: Intent[] = [];
  if (live.length > 0) {
    const cancel = ids.next();
    intents.push({ type: "cancelAll", seq: cancel.seq });
    for (const o of live) {
      o.state = "canceling";
      o.cancelSeq = cancel.seq;
      o.since = ctx.step;
    }
  }
  const skips: SkipReason[] = [];
  const next: Quotes = { bids: [], asks: [], step: ctx.step };
  for (let i = 0; i < levels; i++) {
    const units = p.makerSizeUnits * (1 + i) * (0.75 + 0.5 * s.rng.uniform());
    const want = clampLots(ctx.unitLots * units, m, ctx.priceTicks);
    const bid = bids[i];
    if (bid !== undefined) {
      const cost = (lots: number) => withMargin(quoteAmount(m, bid, lots), p);
      const min = minimumLots(m, bid);
      const lots = affordableLots(Math.max(want, min), min, quoteFree, cost);
      if (lots > 0) {
        quoteFree -= cost(lots);
        next.bids.push(bid);
        intents.push(sendLimit(s, funds, ctx, ids.next(), "BUY", bid, lots, {
          asset: m.quote,
          amount: cost(lots),
        }));
      } else if (!skips.includes("INSUFFICIENT_QUOTE")) skips.push("INSUFFICIENT_QUOTE");
    }
    const ask = asks[i];
    const min = minimumLots(m, ask);
    const lots = affordableLots(Math.max(want, min), min, baseFree, (l) => baseAmount(m, l));
    if (lots > 0) {
      baseFree -= baseAmount(m, lots);
      next.asks.push(ask);
      intents.push(sendLimit(s, funds, ctx, ids.next(), "SELL", ask, lots, {
        asset: m.base,
        amount: baseAmount(m, lots),
      }));
    } else if (!skips.includes("INSUFFICIENT_BASE")) skips.push("INSUFFICIENT_BASE");
  }
  s.quotes = next;
  return { intents, skips };
}

/** The amount a taker order needs, and of which asset. */
function needFor(
  m: Market,
  side: Side,
  lots: number,
  ticks: number,
  p: BotParams,
): { asset: string; amount: bigint } {
  return side === "BUY"
    ? { asset: m.quote, amount: withMargin(quoteAmount(m, ticks, lots), p) }
    : { asset: m.base, amount: baseAmount(m, lots) };
}

/**
 * A noise trader's step on one symbol: cancel its limit orders whose time to live ended (those it
 * still believes open), then maybe send small orders.
 */
export function decideNoiseTrader(
  s: BotSymbolState,
  funds: Funds,
  ctx: MarketContext,
  ratePerSec: number,
  p: BotParams,
  ids: OrderIds,
): Decision {
  const intents: Intent[] = [];
  const skips: SkipReason[] = [];
  for (const o of s.orders) {
    if (o.state === "canceling" || o.expireStep === undefined || o.expireStep > ctx.step) continue;
    const cancel = ids.next();
    o.state = "canceling";
    o.cancelSeq = cancel.seq;
    o.since = ctx.step;
    intents.push({ type: "cancel", seq: cancel.seq, clientOrderId: o.clientOrderId });
  }
  const m = ctx.market;
  const actions = Math.min(3, s.rng.poisson(ratePerSec * ctx.activity * ctx.dtSec));
  for (let a = 0; a < actions; a++) {
    let side: Side = s.rng.chance(0.5) ? "BUY" : "SELL";
    const isMarket = s.rng.chance(p.noiseMarketProb);
    const lots = clampLots(ctx.unitLots * Math.exp(0.5 * s.rng.normal()), m, ctx.priceTicks);
    // passive near the touch mostly; a negative offset crosses the spread
    const offset = Math.round(ctx.halfSpreadTicks * (0.8 + 1.2 * s.rng.normal()));
    const ttlSec = p.noiseTtlMinSec + (p.noiseTtlMaxSec - p.noiseTtlMinSec) * s.rng.uniform();
    // orders with a cancel on their way still count: the engine counts them until it cancels them
    if (!isMarket && s.orders.length >= Math.min(p.noiseMaxResting, Math.max(1, ctx.orderAllowance))) {
      skips.push("TOO_MANY_RESTING");
      continue;
    }
    const priceFor = (sd: Side) =>
      Math.max(1, sd === "BUY" ? ctx.priceTicks - offset : ctx.priceTicks + offset);
    // a market buy may walk the book: budget for a price a few spreads up
    const budgetTicks = (sd: Side) => isMarket ? ctx.priceTicks + 4 * ctx.halfSpreadTicks : priceFor(sd);
    let need = needFor(m, side, lots, budgetTicks(side), p);
    if (funds.free(need.asset) < need.amount) {
      const other: Side = side === "BUY" ? "SELL" : "BUY";
      const alt = needFor(m, other, lots, budgetTicks(other), p);
      if (funds.free(alt.asset) < alt.amount) {
        skips.push(side === "BUY" ? "INSUFFICIENT_QUOTE" : "INSUFFICIENT_BASE");
        continue;
      }
      skips.push("FLIPPED_SIDE"); // trade the asset it has too much of instead
      side = other;
      need = alt;
    }
    const id = ids.next();
    if (isMarket) {
      funds.reserve(id.seq, need.asset, need.amount, ctx.step);
      intents.push(protectedTaker(id, side, lots, ctx));
    } else {
      const expireStep = ctx.step + Math.max(1, Math.round(ttlSec / ctx.dtSec));
      intents.push(sendLimit(s, funds, ctx, id, side, priceFor(side), lots, need, expireStep));
    }
  }
  return intents.length || skips.length ? { intents, skips } : NOTHING;
}

/**
 * A momentum trader's step on one symbol: a taker order (see protectedTaker) in the trend's
 * direction when it is strong.
 */
export function decideMomentumTrader(
  s: BotSymbolState,
  funds: Funds,
  ctx: MarketContext,
  ratePerSec: number,
  p: BotParams,
  ids: OrderIds,
): Decision {
  s.threshold ??= p.momentumThreshold * (0.75 + 0.5 * s.rng.uniform());
  if (s.rng.poisson(ratePerSec * ctx.activity * ctx.dtSec) === 0) return NOTHING;
  const strength = Math.abs(ctx.momentum);
  if (!(strength >= s.threshold)) return NOTHING;
  const m = ctx.market;
  const side: Side = ctx.momentum > 0 ? "BUY" : "SELL";
  const lots = clampLots(ctx.unitLots * Math.min(4, strength), m, ctx.priceTicks);
  const need = needFor(m, side, lots, ctx.priceTicks + 4 * ctx.halfSpreadTicks, p);
  if (funds.free(need.asset) < need.amount) {
    return { intents: [], skips: [side === "BUY" ? "INSUFFICIENT_QUOTE" : "INSUFFICIENT_BASE"] };
  }
  const id = ids.next();
  funds.reserve(id.seq, need.asset, need.amount, ctx.step);
  return { intents: [protectedTaker(id, side, lots, ctx)], skips: [] };
}

/** The decision function of each kind. */
export const DECIDE: Record<
  BotKind,
  (s: BotSymbolState, f: Funds, c: MarketContext, r: number, p: BotParams, ids: OrderIds) => Decision
> = {
  marketMakers: decideMarketMaker,
  noiseTraders: decideNoiseTrader,
  momentumTraders: decideMomentumTrader,
};
