/**
 * Channel names of `/v1/ws` and who may subscribe to them. Pure: no I/O.
 *
 * Public: `book.{symbol}`, `trades.{symbol}`, `ticker.{symbol}`, `ticks.{symbol}`,
 * `candles.{symbol}.{tf}` (candles from trades, as REST's default `source=trade`) and
 * `candles.{symbol}.{tf}.index` (candles from the simulator's ticks, REST's `source=index`).
 * Private: `orders.{userId}`, `wallet.{userId}` (plain `orders` / `wallet`
 * mean the caller's own). Symbols and timeframes are case-insensitive and normalised (`btc-usd` ->
 * `BTC-USD`, `1H` -> `1h`); user ids are case-sensitive.
 */
import { SYMBOL_REGEXP, type Timeframe, TIMEFRAMES } from "@lib/contracts";

export type PublicKind = "book" | "trades" | "ticker" | "ticks" | "candles";
export type PrivateKind = "orders" | "wallet";
export type ChannelKind = PublicKind | PrivateKind;

export const CHANNEL_KINDS: readonly ChannelKind[] = [
  "book",
  "trades",
  "ticker",
  "ticks",
  "candles",
  "orders",
  "wallet",
];

/** A parsed, normalised channel. `name` is the canonical name used in every server message. */
export type ChannelRef =
  | { name: string; kind: "book" | "trades" | "ticker" | "ticks"; symbol: string }
  | { name: string; kind: "candles"; symbol: string; timeframe: Timeframe; source: CandleSource }
  | { name: string; kind: PrivateKind; userId: string };

export interface Identity {
  userId: string;
  role: "user" | "admin";
}

/** Stable error codes sent in `{"type":"error","code"}` messages. */
export type ErrorCode =
  | "BAD_REQUEST"
  | "UNKNOWN_CHANNEL"
  | "AUTH_REQUIRED"
  | "AUTH_FAILED"
  | "FORBIDDEN"
  | "TOO_MANY_SUBSCRIPTIONS"
  | "MESSAGE_TOO_BIG"
  | "RATE_LIMITED"
  | "UNKNOWN_SYMBOL"
  | "UNAVAILABLE";

export type ChannelResult = { ok: true; channel: ChannelRef } | {
  ok: false;
  code: ErrorCode;
  message: string;
};

/** Which candle series a candles channel carries: built from trades, or from the simulator's ticks. */
export type CandleSource = "trade" | "index";

/** The channel a candle goes to: one series per channel, so `openTime` identifies a candle in it. */
export function candleChannel(symbol: string, timeframe: string, source: string | undefined): string {
  return source === "index" ? `candles.${symbol}.${timeframe}.index` : `candles.${symbol}.${timeframe}`;
}

const USER_ID_REGEXP = /^[A-Za-z0-9_.@:-]{1,64}$/;
const CHANNEL_FORMS =
  "book.{symbol}, trades.{symbol}, ticker.{symbol}, ticks.{symbol}, candles.{symbol}.{tf}[.index], orders, " +
  "orders.{userId}, wallet, wallet.{userId}";

function unknown(name: string, why: string): ChannelResult {
  return {
    ok: false,
    code: "UNKNOWN_CHANNEL",
    message: `channel ${JSON.stringify(name)}: ${why}; channels are ${CHANNEL_FORMS}`,
  };
}

/**
 * Parses a channel name as a client wrote it. Private channels without a user id resolve to the
 * caller's own; that needs an identity, so anonymous callers get AUTH_REQUIRED here already.
 */
export function parseChannel(raw: string, identity: Identity | undefined): ChannelResult {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > 100) {
    return unknown(String(raw).slice(0, 100), "must be a non-empty string of at most 100 characters");
  }
  const dot = raw.indexOf(".");
  const head = (dot < 0 ? raw : raw.slice(0, dot)).toLowerCase();
  const rest = dot < 0 ? "" : raw.slice(dot + 1);
  switch (head) {
    case "orders":
    case "wallet": {
      if (rest === "") {
        if (!identity) {
          return {
            ok: false,
            code: "AUTH_REQUIRED",
            message: `channel ${head} is private: authenticate first ({"op":"auth","token":...} or ?token=)`,
          };
        }
        return {
          ok: true,
          channel: { name: `${head}.${identity.userId}`, kind: head, userId: identity.userId },
        };
      }
      if (!USER_ID_REGEXP.test(rest)) {
        return unknown(raw, "the user id may only hold letters, digits and _ . @ : - (1 to 64)");
      }
      return { ok: true, channel: { name: `${head}.${rest}`, kind: head, userId: rest } };
    }
    case "book":
    case "trades":
    case "ticker":
    case "ticks": {
      const symbol = rest.toUpperCase();
      if (!SYMBOL_REGEXP.test(symbol)) return unknown(raw, "the symbol must be BASE-QUOTE, e.g. BTC-USD");
      return { ok: true, channel: { name: `${head}.${symbol}`, kind: head, symbol } };
    }
    case "candles": {
      const [sym = "", tfText = "", sourceText, ...extra] = rest.split(".");
      const symbol = sym.toUpperCase();
      const tf = tfText.toLowerCase();
      if (!SYMBOL_REGEXP.test(symbol)) return unknown(raw, "the symbol must be BASE-QUOTE, e.g. BTC-USD");
      if (!(TIMEFRAMES as readonly string[]).includes(tf)) {
        return unknown(raw, `the timeframe must be one of ${TIMEFRAMES.join(", ")}`);
      }
      const source = sourceText === undefined ? "trade" : sourceText.toLowerCase();
      if (extra.length > 0 || (source !== "trade" && source !== "index")) {
        return unknown(
          raw,
          "the candle source after the timeframe may only be index (or trade, the default)",
        );
      }
      const timeframe = tf as Timeframe;
      return {
        ok: true,
        channel: {
          name: candleChannel(symbol, timeframe, source),
          kind: "candles",
          symbol,
          timeframe,
          source,
        },
      };
    }
    default:
      return unknown(raw, `unknown channel type ${JSON.stringify(head)}`);
  }
}

/**
 * Whether `identity` may subscribe to `channel`. Public channels are open to everyone; a private
 * channel only to its own user, and to admins (who may watch any user's orders and wallet).
 */
export function authorize(channel: ChannelRef, identity: Identity | undefined): ChannelResult {
  if (channel.kind !== "orders" && channel.kind !== "wallet") return { ok: true, channel };
  if (!identity) {
    return {
      ok: false,
      code: "AUTH_REQUIRED",
      message:
        `channel ${channel.name} is private: authenticate first ({"op":"auth","token":...} or ?token=)`,
    };
  }
  if (identity.userId === channel.userId || identity.role === "admin") return { ok: true, channel };
  return {
    ok: false,
    code: "FORBIDDEN",
    message: `channel ${channel.name} belongs to user ${channel.userId}; you are authenticated as ` +
      `${identity.userId} and may only subscribe to orders.${identity.userId} and wallet.${identity.userId}`,
  };
}

/** Parses and authorises in one step. */
export function resolveChannel(raw: string, identity: Identity | undefined): ChannelResult {
  const parsed = parseChannel(raw, identity);
  return parsed.ok ? authorize(parsed.channel, identity) : parsed;
}
