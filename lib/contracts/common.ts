import { z } from "zod";

/** A plain non-negative decimal as text: "0", "12", "65000.25". */
export const DECIMAL_REGEXP = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** What is wrong with a value that is not a plain decimal, in the words a client needs. */
function decimalProblem(v: string | number, text: string): string {
  if (text === "") return `must not be empty: give a decimal like "12.5"`;
  if (typeof v === "number" && Number.isFinite(v) && v > 0 && /e/i.test(text)) {
    // JSON.parse already lost the digits the client wrote; only a string keeps them exact
    return `is a JSON number too ${v < 1 ? "small" : "large"} to read exactly (it arrived as ${text}); ` +
      `send it as a decimal string like "12.5"`;
  }
  return `must be a non-negative decimal number like "12.5", got ${JSON.stringify(v)}`;
}

/**
 * A JSON number whose value as a double is not what its text says: written with an exponent (`1e-7`,
 * `0.01e0`) or with more digits than a double keeps (`59999.999999999999999`). A request body parser
 * that can see the text (see `parseJsonKeepingNumberText`) hands such numbers over as this, so a
 * decimal field reads the digits the client wrote instead of a rounded double.
 */
export class JsonNumberText {
  constructor(readonly value: number, readonly text: string) {}
}

/** A JSON number's text and value say the same: no exponent, and the digits survive as a double. */
function exactJsonNumber(value: number, text: string): boolean {
  const shortest = String(value);
  // an exponent in the text, or in the double's own text (below 1e-6, from 1e21 on)
  if (/[eE]/.test(text) || shortest.includes("e")) return false;
  // at most 15 significant digits always survive; otherwise compare with the double's own text
  if (text.replace(/[-.]/g, "").replace(/^0+/, "").length <= 15) return true;
  return (text.includes(".") ? text.replace(/\.?0+$/, "") : text) === shortest;
}

/**
 * `JSON.parse`, except that a number whose text its double does not keep exactly becomes a
 * {@linkcode JsonNumberText}. Only bodies that may hold such a number (an exponent, a run of 16 or
 * more digits, or six zeros after a point) take the slower path that reads each number's text.
 */
export function parseJsonKeepingNumberText(text: string): unknown {
  if (!/[eE][+-]?[0-9]|[0-9][0-9.]{15}|\.0{6}/.test(text)) return JSON.parse(text);
  return JSON.parse(text, function (_key, value, context?: { source?: string }) {
    if (typeof value !== "number" || context?.source === undefined) return value;
    return exactJsonNumber(value, context.source) ? value : new JsonNumberText(value, context.source);
  });
}

/**
 * A number field of a request body: a {@linkcode JsonNumberText} counts as its (rounded) value, as
 * it would without `parseJsonKeepingNumberText`.
 */
export function jsonNumber<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => v instanceof JsonNumberText ? v.value : v, schema);
}

/**
 * A non-negative decimal amount. On the wire it is a string ("65000.25"); requests may also send a
 * JSON number, which is read from its text when the body parser kept it (see
 * {@linkcode JsonNumberText}) and otherwise from its shortest exact text form. Exponent forms are
 * refused.
 */
export const Decimal = z.union([z.string(), z.number(), z.instanceof(JsonNumberText)]).transform((v, ctx) => {
  if (v instanceof JsonNumberText) {
    if (/[eE]/.test(v.text)) {
      ctx.addIssue({
        code: "custom",
        message: `is a JSON number with an exponent (${v.text}); write it out, like 0.0000001, ` +
          `or send a decimal string like "12.5"`,
      });
      return z.NEVER;
    }
    v = v.text;
  }
  const text = typeof v === "number" ? String(v) : v.trim();
  if (!DECIMAL_REGEXP.test(text)) {
    ctx.addIssue({ code: "custom", message: decimalProblem(v, text) });
    return z.NEVER;
  }
  return text;
});

/** A decimal string as written by Kalency itself (always a string). */
export const DecimalString = z.string().regex(DECIMAL_REGEXP, "must be a decimal string");
/** A decimal string that may be negative (balance changes). */
export const SignedDecimalString = z.string().regex(
  /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/,
  "must be a decimal string",
);

export const SYMBOL_REGEXP = /^[A-Z0-9]{1,12}-[A-Z0-9]{1,12}$/;
/** A market symbol, BASE-QUOTE in upper case ("BTC-USD"). */
export const Symbol = z.string().regex(SYMBOL_REGEXP, "must be BASE-QUOTE, e.g. BTC-USD");
export const Asset = z.string().regex(/^[A-Z0-9]{1,12}$/, "must be an asset code in capitals, e.g. USD");

/** The characters of a user id (1 to 64 of them). */
export const USER_ID_REGEXP = /^[A-Za-z0-9_.@:-]+$/;
/** The characters of a client order id (1 to 64 of them). */
export const CLIENT_ORDER_ID_REGEXP = /^[A-Za-z0-9_.:-]+$/;

export const UserId = z.string().min(1).max(64).regex(USER_ID_REGEXP, "letters, digits and _ . @ : - only");
export const OrderId = z.string().min(1).max(64);
export const ClientOrderId = z.string().min(1).max(64).regex(
  CLIENT_ORDER_ID_REGEXP,
  "letters, digits and _ . : - only",
);

export const Side = z.enum(["BUY", "SELL"]);
export type Side = z.output<typeof Side>;
export const OrderType = z.enum(["LIMIT", "MARKET"]);
export type OrderType = z.output<typeof OrderType>;
export const TimeInForce = z.enum(["GTC", "IOC", "FOK"]);
export type TimeInForce = z.output<typeof TimeInForce>;
/** Self-trade prevention, as Binance defines it. */
export const StpMode = z.enum(["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "NONE"]);
export type StpMode = z.output<typeof StpMode>;
export const OrderStatus = z.enum([
  "ACCEPTED",
  "PARTIALLY_FILLED",
  "FILLED",
  "CANCELED",
  "EXPIRED",
  "REJECTED",
]);
export type OrderStatus = z.output<typeof OrderStatus>;

/** Milliseconds since the Unix epoch. */
export const EpochMs = z.number().int().nonnegative();
