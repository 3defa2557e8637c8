/**
 * The market facts islands need (filters and fees), as plain JSON props.
 * @module
 */
import { lastPriceOf, type Market } from "../gateway_client.ts";
import { percentText } from "@lib/money";
import { compareDecimal, decimalPlaces, isDecimal, subDecimal, toUnits } from "./decimal.ts";

export interface MarketInfo {
  symbol: string;
  base: string;
  quote: string;
  tickSize: string;
  stepSize: string;
  minQty: string;
  minNotional: string;
  status: string;
  makerFeeBps: number;
  takerFeeBps: number;
  last?: string;
  startPrice?: string;
}

/** A market's facts; `fees` fill in when the listing carries no fee rates. */
export function marketInfo(m: Market, fees = { makerBps: 0, takerBps: 0 }): MarketInfo {
  return {
    symbol: m.symbol,
    base: m.base,
    quote: m.quote,
    tickSize: m.tickSize,
    stepSize: m.stepSize,
    minQty: m.minQty,
    minNotional: m.minNotional,
    status: m.status,
    makerFeeBps: m.makerFeeBps ?? fees.makerBps,
    takerFeeBps: m.takerFeeBps ?? fees.takerBps,
    last: lastPriceOf(m),
    ...(m.startPrice !== undefined ? { startPrice: m.startPrice } : {}),
  };
}

/** A row of the trade page's pairs list. */
export interface PairRow {
  symbol: string;
  base: string;
  quote: string;
  tickSize: string;
  last?: string;
  changePct?: string;
  /** TRADING, PAUSED, ... (absent: trading). */
  status?: string;
}

/**
 * The pairs list after a fresh market listing: rows keep their live prices and take the listing's
 * status (a market paused or resumed meanwhile), markets listed since are added (in the listing's
 * order, after the known ones). The same array when nothing changed.
 */
export function withNewPairs(rows: PairRow[], markets: Market[]): PairRow[] {
  const statuses = new Map(markets.map((m) => [m.symbol, m.status]));
  const moved = rows.some((r) =>
    statuses.has(r.symbol) && statuses.get(r.symbol) !== (r.status ?? "TRADING")
  );
  if (moved) {
    rows = rows.map((r) => statuses.has(r.symbol) ? { ...r, status: statuses.get(r.symbol) } : r);
  }
  const known = new Set(rows.map((r) => r.symbol));
  const added = markets.filter((m) => !known.has(m.symbol)).map((m) => ({
    symbol: m.symbol,
    base: m.base,
    quote: m.quote,
    tickSize: m.tickSize,
    last: lastPriceOf(m),
    changePct: m.ticker?.changePct24h,
    status: m.status,
  }));
  return added.length ? [...rows, ...added] : rows;
}

/** The market `/trade` opens: BTC-USD when it is listed, else the first one. */
export function defaultSymbol(symbols: string[]): string | undefined {
  return symbols.includes("BTC-USD") ? "BTC-USD" : symbols[0];
}

/** The simulator's volatility limit per tick (the gateway refuses more). */
export const MAX_SIM_VOLATILITY = 0.1;
/** The most bots of one kind, and the most orders per second each (the gateway's limits). */
export const MAX_BOTS = 1000;
export const MAX_BOT_RATE = 1000;

/**
 * A number typed into an admin form, checked against the gateway's bounds: the number, or a
 * sentence saying what to enter. Empty text is `undefined` (the field was left out). Exponents are
 * fine ("1e-3" is 0.001): small volatilities are often written so.
 */
export function parseBounded(
  text: string,
  bounds: { min: number; max: number; integer?: boolean },
): { value?: number; error?: string } {
  const t = text.trim();
  if (t === "") return {};
  const value = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : NaN;
  const ok = Number.isFinite(value) && value >= bounds.min && value <= bounds.max &&
    (!bounds.integer || Number.isInteger(value));
  if (ok) return { value };
  return {
    error: `Enter a ${bounds.integer ? "whole number" : "number"} from ${bounds.min} to ${bounds.max}.`,
  };
}

/**
 * What is wrong with a market to list (symbol and optional start price): the field and a sentence,
 * or undefined.
 */
export function ensureProblem(
  symbol: string,
  startPrice: string,
  listed: readonly string[] = [],
): { field: "symbol" | "startPrice"; message: string } | undefined {
  if (!/^[A-Z0-9]{1,12}-[A-Z0-9]{1,12}$/.test(symbol)) {
    return { field: "symbol", message: "Enter the market as BASE-QUOTE, e.g. SOL-USD." };
  }
  const p = startPrice.trim();
  const [base, quote] = symbol.split("-");
  // the gateway would list it at another market's price (as the original did): 65,000 USD for SOL
  if (p === "" && listed.length > 0 && !listed.includes(symbol) && !connected(base, quote, listed)) {
    return {
      field: "startPrice",
      message: `No listed market prices ${base} in ${quote}: enter its start price in ${quote}.`,
    };
  }
  if (p !== "" && (!/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(p) || Number(p) <= 0)) {
    return {
      field: "startPrice",
      message: "Enter the start price as a number above 0, e.g. 150.25, or leave it empty.",
    };
  }
  return undefined;
}

/** True when listed markets lead from one asset to the other (so they imply a price). */
function connected(from: string, to: string, symbols: readonly string[]): boolean {
  const seen = new Set([from]);
  const queue = [from];
  while (queue.length > 0) {
    const asset = queue.shift()!;
    if (asset === to) return true;
    for (const s of symbols) {
      const [b, q] = s.split("-");
      const next = b === asset ? q : q === asset ? b : undefined;
      if (next !== undefined && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

/**
 * The volatility profile to preselect: the simulator's own when it is a named one; a raw volatility
 * in force shows as "custom" (a profile name like "calm-custom" included).
 */
export function profileChoice(
  profiles: readonly string[],
  status: { profile?: string } | undefined,
): { value: string; custom: boolean } {
  const p = status?.profile;
  if (p === undefined) return { value: "normal", custom: false };
  return profiles.includes(p) ? { value: p, custom: false } : { value: "custom", custom: true };
}

/**
 * The 24h high and low to show beside a live last price. The ticker comes every few seconds and
 * trades in between: a trade below the ticker's low (or above its high) is the new low (or high),
 * or the header would show a last price outside its own day's range.
 */
export function dayRange(
  high: string | undefined,
  low: string | undefined,
  last: string | undefined,
): { high?: string; low?: string } {
  if (last === undefined || !isDecimal(last)) return { high, low };
  return {
    high: high !== undefined && isDecimal(high) && compareDecimal(last, high) > 0 ? last : high,
    low: low !== undefined && isDecimal(low) && compareDecimal(last, low) < 0 ? last : low,
  };
}

/**
 * The 24h change to show beside a live last price: last - open24h, and its percent of open24h with
 * two decimals rounded half away from zero (as the ticker computes it). The ticker comes every few
 * seconds and trades in between; without this the change would lag the price shown next to it.
 * Undefined when either price is missing.
 */
export function dayChange(
  open: string | undefined,
  last: string | undefined,
): { change: string; pct: string } | undefined {
  if (open === undefined || last === undefined || !isDecimal(open) || !isDecimal(last)) return undefined;
  const d = Math.max(decimalPlaces(open), decimalPlaces(last));
  const o = toUnits(open, d);
  return { change: subDecimal(last, open), pct: percentText(toUnits(last, d) - o, o) };
}

/**
 * What the simulator runs now for one kind of bot (from its status' `bots`), for the bot form's
 * placeholders; what the status does not say is left out.
 */
export function botSetting(bots: unknown, kind: string): { count?: number; ratePerSec?: number } {
  const entry = typeof bots === "object" && bots !== null
    ? (bots as Record<string, unknown>)[kind]
    : undefined;
  if (typeof entry !== "object" || entry === null) return {};
  const { count, ratePerSec } = entry as { count?: unknown; ratePerSec?: unknown };
  return {
    ...(typeof count === "number" ? { count } : {}),
    ...(typeof ratePerSec === "number" ? { ratePerSec } : {}),
  };
}
