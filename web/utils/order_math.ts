/**
 * Order-form arithmetic, exact: the amount presets (25/50/75/100 % of what the wallet holds), the
 * notional and the fee estimate. Every result is a decimal string on the market's steps.
 * @module
 */
import {
  addDecimal,
  compareDecimal,
  decimalPlaces,
  divDecimal,
  floorToStep,
  isDecimal,
  isZero,
  mulDecimal,
  roundPlaces,
  subDecimal,
  toUnits,
} from "./decimal.ts";
import { formatUnitsTrimmed } from "@lib/money";

export interface PresetInput {
  side: "BUY" | "SELL";
  type: "LIMIT" | "MARKET";
  /** 25, 50, 75 or 100. */
  pct: number;
  /** Limit price (LIMIT) as typed; spaces around it do not count. */
  price?: string;
  freeBase: string;
  freeQuote: string;
  stepSize: string;
  tickSize: string;
  /** Fee in basis points charged on the quote side; buys keep room for it. */
  feeBps?: number;
}

/** `value × pct / 100`, exact. */
export function percentOf(value: string, pct: number): string {
  const d = decimalPlaces(value);
  return formatUnitsTrimmed((toUnits(value, d) * BigInt(Math.round(pct))) / 100n, d);
}

/**
 * What a preset fills in: `{ qty }` (base quantity) for sells and limit buys, `{ quoteQty }` for
 * market buys (they spend an amount of quote). Undefined when there is nothing to fill in yet: a
 * limit buy without a plain positive price ("65000.5"; not "64,000", "1e3", ".5" or "65000.").
 */
export function presetAmount(input: PresetInput): { qty?: string; quoteQty?: string } | undefined {
  const fee = BigInt(input.feeBps ?? 0);
  if (input.side === "SELL") {
    return { qty: floorToStep(percentOf(input.freeBase, input.pct), input.stepSize) };
  }
  const budget = percentOf(input.freeQuote, input.pct);
  // Keep room for a fee charged on top of the notional: budget × 10000 / (10000 + bps).
  const spendable = fee > 0n ? divDecimal(mulDecimal(budget, "10000"), String(10000n + fee), 12) : budget;
  if (input.type === "MARKET") {
    return { quoteQty: floorToStep(spendable, quoteStep(input.tickSize)) };
  }
  const price = input.price?.trim() ?? "";
  if (!isDecimal(price) || isZero(price)) return undefined;
  const places = decimalPlaces(input.stepSize);
  return { qty: floorToStep(divDecimal(spendable, price, places), input.stepSize) };
}

/** The quote amount step: the tick's precision (0.01 for USD markets). */
export function quoteStep(tickSize: string): string {
  const places = decimalPlaces(tickSize);
  return places === 0 ? "1" : `0.${"0".repeat(places - 1)}1`;
}

/** price × qty. */
export function notional(price: string, qty: string): string {
  return mulDecimal(price, qty);
}

/** notional × bps / 10000, cut to `places` decimals. */
export function feeFor(notionalText: string, bps: number, places: number): string {
  if (bps <= 0) return "0";
  return divDecimal(mulDecimal(notionalText, String(Math.round(bps))), "10000", places);
}

/** What a market order would do against the levels the page can see. */
export interface MarketEstimate {
  /** Base quantity it would get (or give), on the step. */
  filled: string;
  /** Quote it would spend (or receive). */
  quote: string;
  /** Average price, rounded half up to the tick's places; undefined when nothing fills. */
  avgPrice?: string;
  /** Price of the last level it would reach. */
  worstPrice?: string;
  /**
   * False when the visible levels hold less than the order asks for. A buy by amount too small for
   * one step at the best price is complete with nothing `filled`.
   */
  complete: boolean;
}

/**
 * Walks `levels` (best first: asks for a buy, bids for a sell) as the engine would fill a market
 * order of `qty` base, or of `quoteQty` quote for a buy by amount. Exact; an estimate only because
 * the book may move before the order arrives and the page sees only the top levels.
 */
export function estimateMarket(
  levels: readonly { price: string; qty: string }[],
  amount: { qty?: string; quoteQty?: string },
  stepSize: string,
  tickSize: string,
): MarketEstimate {
  let filled = "0", quote = "0", worstPrice: string | undefined;
  let left = amount.quoteQty ?? amount.qty ?? "0";
  const byQuote = amount.quoteQty !== undefined;
  // a buy by amount stops at a level where what is left buys less than one step
  let stopped = false;
  for (const level of levels) {
    if (isZero(left) || left.startsWith("-")) break;
    let take: string;
    if (byQuote) {
      const all = mulDecimal(level.price, level.qty);
      take = compareDecimal(all, left) <= 0
        ? level.qty
        : floorToStep(divDecimal(left, level.price, decimalPlaces(stepSize)), stepSize);
    } else take = compareDecimal(level.qty, left) <= 0 ? level.qty : left;
    if (isZero(take)) {
      stopped = true;
      break;
    }
    const cost = mulDecimal(level.price, take);
    filled = addDecimal(filled, take);
    quote = addDecimal(quote, cost);
    left = subDecimal(left, byQuote ? cost : take);
    worstPrice = level.price;
  }
  // A buy by amount is done when what is left buys less than one step at the next price, even when
  // that is nothing at all (the engine then expires it as too small, not for want of liquidity).
  const complete = isZero(left) || (byQuote && !left.startsWith("-") && (stopped ||
    (filled !== "0" && compareDecimal(left, mulDecimal(worstPrice ?? "0", stepSize)) < 0)));
  return {
    filled,
    quote,
    // rounded half up to the tick, for display
    avgPrice: isZero(filled)
      ? undefined
      : roundPlaces(divDecimal(quote, filled, decimalPlaces(tickSize) + 6), decimalPlaces(tickSize)),
    worstPrice,
    complete,
  };
}

/** What the order form may say about a market order's price from its {@linkcode estimateMarket}. */
export type MarketPriceView =
  /** Nothing to estimate yet (no amount, no book, or less than one step). */
  | { kind: "unknown" }
  /** The order asks for more than the visible levels hold: no average or total can be claimed. */
  | { kind: "beyond" }
  /** Its average and worst price (a buy's highest, "up to"; a sell's lowest, "down to"), and total. */
  | { kind: "estimate"; avgPrice: string; worstPrice: string; bound: "up to" | "down to"; quote: string };

export function marketPriceView(
  estimate: MarketEstimate | undefined,
  side: "BUY" | "SELL",
): MarketPriceView {
  if (!estimate) return { kind: "unknown" };
  if (!estimate.complete) return { kind: "beyond" };
  if (estimate.avgPrice === undefined || estimate.worstPrice === undefined) return { kind: "unknown" };
  return {
    kind: "estimate",
    avgPrice: estimate.avgPrice,
    worstPrice: estimate.worstPrice,
    bound: side === "BUY" ? "up to" : "down to",
    quote: estimate.quote,
  };
}
