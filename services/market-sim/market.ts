/**
 * A market's filters in the forms the simulator computes with: prices as whole ticks and quantities
 * as whole lots (exact decimal strings come back out through @lib/money), balances and notionals as
 * bigint amounts of 10^-18 (every asset has at most 18 decimals, so parsing is exact).
 * @module
 */
import type { MarketSpec } from "@lib/contracts";
import { decimalPlaces, formatUnits, fromStepsTrimmed, parseUnits } from "@lib/money";

/** Fixed-point scale of balances and notionals inside the simulator. */
export const SCALE = 18;
export const ONE = 10n ** BigInt(SCALE);

export interface Market {
  spec: MarketSpec;
  symbol: string;
  base: string;
  quote: string;
  /** Tick and step as floats (for the model and sizing only; never for amounts). */
  tick: number;
  step: number;
  tickUnits: bigint;
  stepUnits: bigint;
  minLots: number;
  maxLots: number;
  minNotional: bigint;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Builds the computing view of a market spec. */
export function marketOf(spec: MarketSpec): Market {
  const tickUnits = parseUnits(spec.tickSize, SCALE);
  const stepUnits = parseUnits(spec.stepSize, SCALE);
  const minLots = Number(ceilDiv(parseUnits(spec.minQty, SCALE), stepUnits));
  const maxLots = Number(parseUnits(spec.maxQty, SCALE) / stepUnits);
  return {
    spec,
    symbol: spec.symbol,
    base: spec.base,
    quote: spec.quote,
    tick: Number(spec.tickSize),
    step: Number(spec.stepSize),
    tickUnits,
    stepUnits,
    minLots: Math.max(1, minLots),
    maxLots: Math.max(1, maxLots),
    minNotional: parseUnits(spec.minNotional, SCALE),
  };
}

/** A decimal string parsed to 10^-18 units; digits beyond 18 decimals are dropped (never happens for assets). */
export function toUnits(text: string): bigint {
  const places = decimalPlaces(text);
  if (places <= SCALE) return parseUnits(text, SCALE);
  const [int, frac] = text.split(".");
  return parseUnits(`${int}.${frac.slice(0, SCALE)}`, SCALE);
}

/** Exact price text of a number of ticks, in shortest form ("64909", not "64909.00"), as every amount Kalency sends. */
export function priceText(m: Market, ticks: number): string {
  return fromStepsTrimmed(ticks, m.spec.tickSize);
}

/** Exact quantity text of a number of lots, in shortest form. */
export function qtyText(m: Market, lots: number): string {
  return fromStepsTrimmed(lots, m.spec.stepSize);
}

/** Base amount of `lots`, in 10^-18 units. */
export function baseAmount(m: Market, lots: number): bigint {
  return BigInt(lots) * m.stepUnits;
}

/** Quote amount of `lots` at `ticks` (price x qty), in 10^-18 units, exact for tick + step decimals <= 18. */
export function quoteAmount(m: Market, ticks: number, lots: number): bigint {
  return BigInt(ticks) * m.tickUnits * BigInt(lots) * m.stepUnits / ONE;
}

/** An amount in 10^-18 units as a decimal string with `decimals` places, rounded up. */
export function amountText(units: bigint, decimals: number): string {
  const unit = 10n ** BigInt(SCALE - decimals);
  return formatUnits(ceilDiv(units, unit), decimals);
}

/**
 * Lots of a typical bot order: `notionalMult` times the minimum notional at the price, at least the
 * minimum quantity, and never more than the maximum.
 */
export function unitLots(m: Market, ticks: number, notionalMult = 20): number {
  const price = ticks * m.tick;
  const wanted = Number(m.spec.minNotional) * notionalMult / (price * m.step);
  let lots = Math.max(m.minLots, Math.ceil(Number.isFinite(wanted) ? wanted : m.minLots));
  while (lots < m.maxLots && quoteAmount(m, ticks, lots) < m.minNotional) lots++;
  return Math.min(lots, m.maxLots);
}

/** The smallest number of lots that satisfies both minimums at `ticks`. */
export function minimumLots(m: Market, ticks: number): number {
  let lots = m.minLots;
  if (quoteAmount(m, ticks, lots) < m.minNotional) {
    const perLot = quoteAmount(m, ticks, 1);
    lots = perLot > 0n ? Math.max(lots, Number(ceilDiv(m.minNotional, perLot))) : m.maxLots;
  }
  return Math.min(lots, m.maxLots);
}

/** A spec for a symbol the engine does not list (yet): the template's filters, the given start price. */
export function fallbackSpec(
  symbol: string,
  template: MarketSpec | undefined,
  startPrice: string,
): MarketSpec {
  const [base, quote] = symbol.split("-");
  return {
    symbol,
    base,
    quote,
    tickSize: template?.tickSize ?? "0.01",
    stepSize: template?.stepSize ?? "0.001",
    minQty: template?.minQty ?? "0.001",
    maxQty: template?.maxQty ?? "100000",
    minNotional: template?.minNotional ?? "1",
    status: "TRADING",
    startPrice,
  };
}
