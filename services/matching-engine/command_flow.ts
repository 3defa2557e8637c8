/**
 * A seeded, realistic command flow for load tests and benchmarks: accounts first, then limit orders
 * around a drifting mid price (some crossing, most resting), market orders, IOC and post-only orders,
 * and cancels of earlier orders by clientOrderId. Pure: the same options give the same commands.
 * @module
 */
import type { EngineCommandInput, MarketSpec } from "@lib/contracts";
import { decimalPlaces, fromSteps, parseUnits, toSteps } from "@lib/money";

export interface FlowOptions {
  seed: number;
  users: number;
  markets: MarketSpec[];
  /** Reply stream name put on this share of commands (0..1); the rest are fire-and-forget. */
  replyTo?: string;
  replyRatio?: number;
  /** Prefix of user ids. @default {"u"} */
  userPrefix?: string;
}

/** mulberry32: a tiny seeded PRNG, good enough for test traffic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An endless generator of commands; take as many as needed. */
export function* commandFlow(options: FlowOptions): Generator<EngineCommandInput> {
  const rnd = prng(options.seed);
  const users = Array.from({ length: options.users }, (_, i) => `${options.userPrefix ?? "u"}${i}`);
  const replyRatio = options.replyTo ? options.replyRatio ?? 1 : 0;
  let n = 0;
  const base = () => {
    n++;
    const cmdId = `c${options.seed}-${n}`;
    return rnd() < replyRatio ? { cmdId, replyTo: options.replyTo } : { cmdId };
  };
  for (const userId of users) yield { type: "openAccount", ...base(), userId };

  const books = options.markets.map((m) => ({
    spec: m,
    midTicks: toSteps(m.startPrice, m.tickSize)!,
    minLots: Math.max(1, toSteps(m.minQty, m.stepSize)!),
    tickSize: m.tickSize,
  }));
  // orders that may still rest, per user: [clientOrderId, symbol]
  const live = new Map<string, [string, string][]>();
  let coid = 0;
  for (;;) {
    const book = books[Math.floor(rnd() * books.length)];
    const userId = users[Math.floor(rnd() * users.length)];
    const mine = live.get(userId) ?? [];
    live.set(userId, mine);
    // a slow random walk of the mid price, at most 0.05% a step
    book.midTicks = Math.max(10, Math.round(book.midTicks * (1 + (rnd() - 0.5) * 0.001)));
    const r = rnd();
    if (r < 0.3 && mine.length > 0) {
      const [c, symbol] = mine.splice(Math.floor(rnd() * mine.length), 1)[0];
      yield { type: "cancel", ...base(), userId, symbol, clientOrderId: c };
      continue;
    }
    const side = rnd() < 0.5 ? "BUY" : "SELL";
    // a minimum notional's worth and up to 8x that
    const notionalLots = minLotsForNotional(book.spec, book.midTicks, book.minLots);
    const lots = notionalLots * (1 + Math.floor(rnd() * 8));
    const qty = fromSteps(lots, book.spec.stepSize);
    if (r < 0.38) {
      yield { type: "place", ...base(), userId, symbol: book.spec.symbol, side, orderType: "MARKET", qty };
      continue;
    }
    // limit prices from 0.4% through to 0.3% across the mid: about a quarter of them cross
    const offset = Math.round(book.midTicks * (rnd() * 0.007 - 0.003));
    const priceTicks = side === "BUY" ? book.midTicks - offset : book.midTicks + offset;
    const price = fromSteps(Math.max(1, priceTicks), book.tickSize);
    const clientOrderId = `k${options.seed}-${++coid}`;
    const timeInForce = r < 0.43 ? "IOC" : "GTC";
    const postOnly = r > 0.97;
    if (timeInForce === "GTC") mine.push([clientOrderId, book.spec.symbol]);
    if (mine.length > 40) mine.shift();
    yield {
      type: "place",
      ...base(),
      userId,
      symbol: book.spec.symbol,
      side,
      orderType: "LIMIT",
      timeInForce,
      postOnly,
      price,
      qty,
      clientOrderId,
    };
  }
}

/** Lots whose notional at the mid clears the market's minimum notional (with a margin for drift). */
function minLotsForNotional(m: MarketSpec, midTicks: number, minLots: number): number {
  const dt = decimalPlaces(m.tickSize);
  const ds = decimalPlaces(m.stepSize);
  // notional of one lot at the mid, in units of 10^-(dt+ds)
  const perLot = BigInt(midTicks) * parseUnits(m.tickSize, dt) * parseUnits(m.stepSize, ds);
  const min = parseUnits(m.minNotional, dt + ds);
  const needed = Number((min * 11n / 10n + perLot - 1n) / perLot);
  return Math.max(minLots, needed);
}

/** The first `count` commands of a flow. */
export function takeCommands(options: FlowOptions, count: number): EngineCommandInput[] {
  const out: EngineCommandInput[] = [];
  for (const c of commandFlow(options)) {
    if (out.length >= count) break;
    out.push(c);
  }
  return out;
}
