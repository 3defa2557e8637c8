/**
 * Order-form arithmetic, exact: the amount presets (25/50/75/100 % of what the wallet holds), the
 * notional and the fee estimate. Every result is a decimal string on the market's steps.
 * @module
 */
import { decimalPlaces, divDecimal, floorToStep, isZero, mulDecimal, toUnits } from "./decimal.ts";
import { formatUnitsTrimmed } from "@lib/money";

export interface PresetInput {
  side: "BUY" | "SELL";
  type: "LIMIT" | "MARKET";
  /** 25, 50, 75 or 100. */
  pct: number;
  /** Limit price (LIMIT), or the best ask used to estimate a market buy. */
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
 * market buys (they spend an amount of quote). Undefined when there is nothing to fill in yet
 * (no price for a limit buy).
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
  if (!input.price || isZero(input.price)) return undefined;
  const places = decimalPlaces(input.stepSize);
  return { qty: floorToStep(divDecimal(spendable, input.price, places), input.stepSize) };
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
