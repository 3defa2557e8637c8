/**
 * Result codes of core commands. 0 is success, -1 a duplicate clientOrderId (the original order is
 * returned), positive codes are rejections; `REJECT_REASONS[code]` is the wire RejectReason.
 * @module
 */
import type { RejectReason } from "@lib/contracts";

export const R_OK = 0;
export const R_DUPLICATE = -1;
export const R_UNKNOWN_SYMBOL = 1;
export const R_MARKET_PAUSED = 2;
export const R_INVALID_ORDER = 3;
export const R_PRICE_OFF_TICK = 4;
export const R_QTY_OFF_STEP = 5;
export const R_QTY_TOO_SMALL = 6;
export const R_QTY_TOO_LARGE = 7;
export const R_NOTIONAL_TOO_SMALL = 8;
export const R_PRICE_OUT_OF_BAND = 9;
export const R_INSUFFICIENT_BALANCE = 10;
export const R_TOO_MANY_OPEN_ORDERS = 11;
export const R_POST_ONLY_WOULD_CROSS = 12;
export const R_UNKNOWN_ORDER = 13;
export const R_UNKNOWN_ASSET = 14;
export const R_DUPLICATE_MARKET = 15;
export const R_AMOUNT_TOO_LARGE = 16;
export const R_INVALID_AMOUNT = 17;

/** Index = code. Entry 0 is unused. */
export const REJECT_REASONS: readonly RejectReason[] = [
  "INVALID_ORDER",
  "UNKNOWN_SYMBOL",
  "MARKET_PAUSED",
  "INVALID_ORDER",
  "PRICE_OFF_TICK",
  "QTY_OFF_STEP",
  "QTY_TOO_SMALL",
  "QTY_TOO_LARGE",
  "NOTIONAL_TOO_SMALL",
  "PRICE_OUT_OF_BAND",
  "INSUFFICIENT_BALANCE",
  "TOO_MANY_OPEN_ORDERS",
  "POST_ONLY_WOULD_CROSS",
  "UNKNOWN_ORDER",
  "UNKNOWN_ASSET",
  "DUPLICATE_MARKET",
  "AMOUNT_TOO_LARGE",
  "INVALID_AMOUNT",
];
