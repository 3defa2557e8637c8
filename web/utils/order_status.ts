/**
 * How an order's status reads in the pages: what a trader calls it, with why its remainder expired
 * when it did (the API keeps the contract's names: ACCEPTED, PARTIALLY_FILLED, ...).
 * @module
 */

import { compareDecimal } from "./decimal.ts";

const WORDS: Record<string, string> = {
  ACCEPTED: "open",
  PARTIALLY_FILLED: "partially filled",
  FILLED: "filled",
  CANCELED: "canceled",
  EXPIRED: "expired",
  REJECTED: "rejected",
};

/** Why an order (or its rest) expired, in plain words. */
const REASONS: Record<string, string> = {
  NO_LIQUIDITY: "no liquidity",
  FOK_NOT_FILLABLE: "it could not fill completely at once",
  SELF_TRADE_PREVENTION: "self trade prevention",
  INSUFFICIENT_BALANCE: "not enough balance",
  QUOTE_QTY_TOO_SMALL: "the amount to spend buys less than one lot",
};

/** "open", "filled", "partially filled · rest expired: no liquidity", ... */
export function orderStatusText(o: { status: string; expireReason?: string | null }): string {
  const word = WORDS[o.status] ?? o.status.toLowerCase().replaceAll("_", " ");
  if (!o.expireReason) return word;
  const why = REASONS[o.expireReason] ?? o.expireReason.toLowerCase().replaceAll("_", " ");
  return o.status === "PARTIALLY_FILLED" ? `${word} · rest expired: ${why}` : `${word}: ${why}`;
}

const FINAL = new Set(["FILLED", "CANCELED", "EXPIRED", "REJECTED"]);

/**
 * The later of two states of one order, whichever came first: the placing answer and the live
 * orders channel race, so an answer saying "open" may arrive after the event saying "filled". An
 * order only moves forward: to a final status, and to more filled.
 */
export function laterState<T extends { status: string; filledQty: string }>(a: T, b: T): T {
  if (FINAL.has(a.status) !== FINAL.has(b.status)) return FINAL.has(b.status) ? b : a;
  return compareDecimal(b.filledQty, a.filledQty) >= 0 ? b : a;
}
