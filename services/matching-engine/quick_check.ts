/**
 * A quick check of the two commands that make up nearly all of the engine's traffic: place and
 * cancel. The contract's zod schema is exact but costs about half of decoding a command; this
 * accepts only commands that are plainly valid and builds what the schema would give for them
 * (defaults filled in, unknown fields left out). Anything else, including every command it does not
 * know, returns undefined, and the schema decides, with its messages. `quick_check_test.ts` holds the
 * two to the same answers over valid and broken commands.
 * @module
 */
import {
  type CancelOrderCommand,
  CLIENT_ORDER_ID_REGEXP,
  DECIMAL_REGEXP,
  type EngineCommand,
  type PlaceOrderCommand,
  SYMBOL_REGEXP,
  USER_ID_REGEXP,
} from "@lib/contracts";

type Json = Record<string, unknown>;

const isString = (v: unknown): v is string => typeof v === "string";
/** An optional field: absent, or passing `ok`. */
const optional = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || ok(v);
const decimal = (v: unknown) => isString(v) && DECIMAL_REGEXP.test(v);
/** 1 to 64 characters of a pattern (the contract's id rule). */
const id = (v: unknown, pattern: RegExp) => isString(v) && v.length >= 1 && v.length <= 64 && pattern.test(v);
const clientOrderId = (v: unknown) => id(v, CLIENT_ORDER_ID_REGEXP);

function base(j: Json): boolean {
  const { cmdId, replyTo, userId } = j;
  return isString(cmdId) && cmdId.length >= 1 && cmdId.length <= 80 &&
    optional(replyTo, (v) => isString(v) && v.length >= 1) &&
    id(userId, USER_ID_REGEXP);
}

function place(j: Json): PlaceOrderCommand | undefined {
  const { side, orderType, timeInForce, postOnly, stp, symbol } = j;
  if (
    !base(j) || !isString(symbol) || !SYMBOL_REGEXP.test(symbol) ||
    (side !== "BUY" && side !== "SELL") || (orderType !== "LIMIT" && orderType !== "MARKET") ||
    !optional(timeInForce, (v) => v === "GTC" || v === "IOC" || v === "FOK") ||
    !optional(postOnly, (v) => typeof v === "boolean") ||
    !optional(
      stp,
      (v) => v === "EXPIRE_TAKER" || v === "EXPIRE_MAKER" || v === "EXPIRE_BOTH" || v === "NONE",
    ) ||
    !optional(j.price, decimal) || !optional(j.qty, decimal) || !optional(j.quoteQty, decimal) ||
    !optional(j.clientOrderId, clientOrderId)
  ) return undefined;
  // the schema's key order; absent optional fields stay absent
  const c: Json = { type: "place", cmdId: j.cmdId };
  if (j.replyTo !== undefined) c.replyTo = j.replyTo;
  c.userId = j.userId;
  c.symbol = symbol;
  c.side = side;
  c.orderType = orderType;
  c.timeInForce = timeInForce ?? "GTC";
  c.postOnly = postOnly ?? false;
  if (j.price !== undefined) c.price = j.price;
  if (j.qty !== undefined) c.qty = j.qty;
  if (j.quoteQty !== undefined) c.quoteQty = j.quoteQty;
  if (j.clientOrderId !== undefined) c.clientOrderId = j.clientOrderId;
  c.stp = stp ?? "EXPIRE_TAKER";
  return c as unknown as PlaceOrderCommand;
}

function cancel(j: Json): CancelOrderCommand | undefined {
  const { symbol, orderId } = j;
  if (
    !base(j) || !optional(symbol, (v) => isString(v) && SYMBOL_REGEXP.test(v)) ||
    !optional(orderId, (v) => isString(v) && v.length >= 1 && v.length <= 64) ||
    !optional(j.clientOrderId, clientOrderId)
  ) return undefined;
  const c: Json = { type: "cancel", cmdId: j.cmdId };
  if (j.replyTo !== undefined) c.replyTo = j.replyTo;
  c.userId = j.userId;
  if (symbol !== undefined) c.symbol = symbol;
  if (orderId !== undefined) c.orderId = orderId;
  if (j.clientOrderId !== undefined) c.clientOrderId = j.clientOrderId;
  return c as unknown as CancelOrderCommand;
}

/** The command as the contract's schema would give it, or undefined: then ask the schema. */
export function quickCommand(json: unknown): EngineCommand | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const j = json as Json;
  if (j.type === "place") return place(j);
  if (j.type === "cancel") return cancel(j);
  return undefined;
}
