/**
 * REST request and response bodies. The stream contracts (OrderAck, Execution, BookSnapshot, ...)
 * come from @lib/contracts; what only the REST API speaks is here. Validation and the OpenAPI
 * document both use these schemas.
 * @module
 */
import { z } from "zod";
import { DEFAULT_CANDLE_LIMIT, MAX_CANDLE_LIMIT } from "@lib/candles";
import {
  Asset,
  BookSnapshot,
  Candle,
  ClientOrderId,
  Decimal,
  DecimalString,
  EpochMs,
  Execution,
  jsonNumber,
  MarketSpec,
  MAX_SIM_VOLATILITY,
  OrderAck,
  OrderType,
  Side,
  StpMode,
  Symbol,
  Ticker,
  Timeframe,
  TimeInForce,
} from "@lib/contracts";

/** A timeframe in any case with spaces trimmed ("1H" -> "1h"), as the original accepted. */
export const TimeFrameInput = z.string().transform((v) => v.trim().toLowerCase()).pipe(Timeframe);

/** A symbol from a path or body, accepted in any case and upper-cased ("btc-usd" -> "BTC-USD"). */
export const SymbolIn = z.string().transform((s) => s.trim().toUpperCase()).pipe(Symbol)
  .describe("Market symbol BASE-QUOTE, e.g. BTC-USD (any case)");

/** An optional query parameter for which an empty value means absent, as the original read them. */
const emptyIsAbsent = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => typeof v === "string" && v.trim() === "" ? undefined : v, schema.optional());

const upper = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => typeof v === "string" ? v.trim().toUpperCase() : v, schema);

function isPositive(text: string): boolean {
  return /[1-9]/.test(text);
}

export const PlaceOrderRequest = z.object({
  clientOrderId: z.preprocess((v) => v === "" ? undefined : v, ClientOrderId.optional())
    .describe(
      "Your id for the order; a retry with the same id returns the first order (idempotent). " +
        'An empty string counts as none (the original\'s clients send "")',
    ),
  userId: z.string().optional().describe("Optional; must equal the authenticated user"),
  symbol: SymbolIn,
  side: upper(Side).describe("BUY or SELL, in any case"),
  type: upper(OrderType).describe("LIMIT or MARKET, in any case"),
  timeInForce: upper(TimeInForce).optional().describe(
    "GTC (default for LIMIT), IOC (MARKET always), FOK; in any case",
  ),
  postOnly: z.boolean().optional().describe("LIMIT only: rejected instead of taking liquidity"),
  price: Decimal.optional().describe("LIMIT price, a multiple of the market's tickSize"),
  qty: Decimal.optional().describe("Base quantity, a multiple of the market's stepSize"),
  quoteQty: Decimal.optional().describe("MARKET BUY only: quote amount to spend instead of qty"),
  stp: upper(StpMode).optional().describe("Self-trade prevention (default EXPIRE_TAKER), in any case"),
}).superRefine((o, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (o.type === "LIMIT") {
    if (o.price === undefined) issue("price", "is required for a LIMIT order (a positive decimal)");
    if (o.qty === undefined) issue("qty", "is required for a LIMIT order (a positive decimal)");
    if (o.quoteQty !== undefined) issue("quoteQty", "is allowed only for MARKET BUY orders");
  } else {
    // the original's clients send `"price": 0` with a MARKET order (Go's zero value): taken as none
    if (o.price !== undefined && isPositive(o.price)) {
      issue(
        "price",
        "a MARKET order takes no price (it fills at the book's prices); to cap the price, send a LIMIT order with timeInForce IOC",
      );
    }
    if (o.postOnly) issue("postOnly", "is allowed only for LIMIT orders");
    if (o.timeInForce === "FOK") {
      issue("timeInForce", "FOK is allowed only for LIMIT orders (a MARKET order is always IOC)");
    }
    if (o.qty === undefined && o.quoteQty === undefined) {
      issue("qty", "a MARKET order needs qty (or quoteQty for a BUY)");
    }
    if (o.qty !== undefined && o.quoteQty !== undefined) {
      issue("quoteQty", "send either qty or quoteQty, not both");
    }
    if (o.quoteQty !== undefined && o.side === "SELL") {
      issue("quoteQty", "is allowed only for MARKET BUY orders");
    }
  }
  for (const f of ["price", "qty", "quoteQty"] as const) {
    const v = o[f];
    if (v !== undefined && !isPositive(v) && !(f === "price" && o.type === "MARKET")) {
      issue(f, "must be positive");
    }
  }
}).transform((o) => o.type === "MARKET" && o.price !== undefined ? { ...o, price: undefined } : o);
export type PlaceOrderRequest = z.output<typeof PlaceOrderRequest>;

export const OrderIdParams = z.object({ orderId: z.string().min(1).max(64) });
export const SymbolParams = z.object({ symbol: SymbolIn });

// Strict: without orderId or clientOrderId this cancels every open order on the symbol, so a
// misspelled `orderid=` must be refused, not read as "cancel all".
export const CancelQuery = z.strictObject({
  symbol: SymbolIn.describe("Market of the orders to cancel"),
  clientOrderId: ClientOrderId.optional().describe("Cancel only the order with this clientOrderId"),
  orderId: z.string().min(1).max(64).optional().describe("Cancel only this order"),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? `unknown parameter ${i.keys.map((k) => `"${k}"`).join(", ")}: this route takes symbol, and ` +
        "orderId or clientOrderId (with neither, it cancels every open order on the symbol)"
      : undefined,
});

export const OpenOrdersQuery = z.object({ symbol: emptyIsAbsent(SymbolIn) });

/** A query integer: "20" -> 20, with bounds named in the message. */
export function queryInt(def: number, max: number) {
  return z.string().optional().transform((v, ctx) => readQueryInt(v, max, ctx) ?? def)
    .describe(`1..${max}, default ${def}`);
}

/** Like {@linkcode queryInt}, but absent or empty stays undefined (the route picks the default). */
export function optionalQueryInt(max: number, description: string) {
  return z.string().optional().transform((v, ctx) => readQueryInt(v, max, ctx)).describe(description);
}

function readQueryInt(v: string | undefined, max: number, ctx: z.RefinementCtx): number | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  // digits only: Number() would also take "0x10", "0b11" and "1e1"
  const n = /^\s*\d{1,16}\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    ctx.addIssue({ code: "custom", message: `must be an integer from 1 to ${max}, got "${v}"` });
    return z.NEVER;
  }
  return n;
}

export const HistoryQuery = z.object({
  symbol: emptyIsAbsent(SymbolIn),
  limit: queryInt(50, 500),
  cursor: emptyIsAbsent(z.string().regex(/^\d+:.+$/, "must be the nextCursor of a previous page")),
});

export const MyTradesQuery = z.object({
  symbol: emptyIsAbsent(SymbolIn),
  limit: queryInt(100, 1000),
  /** A trade id of yours: the fills older than it, from the ledger (the page before a page). */
  before: emptyIsAbsent(z.string().min(1).max(64)).describe(
    "a tradeId of one of your fills (the oldest of the page you have): returns the fills before it, from the ledger",
  ),
});

export const BookQuery = z.object({
  depth: queryInt(20, 500).describe(
    "1..500, default 20: levels per side, up to the top levels the engine keeps (KALENCY_BOOK_DEPTH, 100 by default)",
  ),
});
export const TradesQuery = z.object({ limit: queryInt(100, 1000) });

/** RFC 3339 or epoch milliseconds -> epoch ms. */
export const TimeParam = z.string().transform((v, ctx) => {
  const t = v.trim();
  const ms = /^\d{1,16}$/.test(t) ? Number(t) : Date.parse(t);
  if (!Number.isFinite(ms) || (!/^\d+$/.test(t) && !isCalendarTime(t))) {
    ctx.addIssue({
      code: "custom",
      message: `must be RFC 3339 (2026-01-02T03:04:05Z) or epoch ms, got "${v}"`,
    });
    return z.NEVER;
  }
  if (!/^\d+$/.test(t) && !/(Z|[+-]\d{2}:?\d{2})$/i.test(t)) {
    // without an offset Date.parse reads the server's local time: refuse rather than guess
    ctx.addIssue({
      code: "custom",
      message:
        `needs a time zone: end it with Z for UTC or an offset like +02:00 (2026-01-02T03:04:05Z), got "${v}"`,
    });
    return z.NEVER;
  }
  return ms;
});

/**
 * The date and time of an RFC 3339 text exist: Date.parse rolls 2026-02-30 over into March, where the
 * original refused it.
 */
function isCalendarTime(t: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(t);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map((x) => Number(x ?? 0));
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate(); // day 0 of the next month
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour < 24 && minute < 60 && second < 60;
}

export const CandlesQuery = z.object({
  tf: emptyIsAbsent(TimeFrameInput).describe("1s, 5s, 1m (default), 5m, 1h, 1d; any case"),
  from: emptyIsAbsent(TimeParam).describe("Inclusive start of bucketStart: RFC 3339 or epoch ms"),
  to: emptyIsAbsent(TimeParam).describe("Inclusive end of bucketStart: RFC 3339 or epoch ms"),
  limit: optionalQueryInt(
    MAX_CANDLE_LIMIT,
    `1..${MAX_CANDLE_LIMIT}; default ${DEFAULT_CANDLE_LIMIT}, or ${MAX_CANDLE_LIMIT} when from or to is given`,
  ),
  fill: emptyIsAbsent(z.enum(["true", "false"])).describe(
    "Flat candles for buckets without trades (default true)",
  ),
  source: emptyIsAbsent(z.enum(["trade", "index"])).describe(
    "trade (default) or the simulator's index price",
  ),
});

export const OrderAckResponse = OrderAck;
export const OrderList = z.array(OrderAck);

export const OrderWithFills = OrderAck.extend({ fills: z.array(Execution) });
export const HistoryResponse = z.object({
  orders: z.array(OrderWithFills),
  nextCursor: z.string().nullable().describe("Pass as cursor for the next (older) page; null at the end"),
});

export const WalletResponse = z.object({
  userId: z.string(),
  available: z.record(z.string(), DecimalString).describe("asset -> free balance"),
  reserved: z.record(z.string(), DecimalString).describe("asset -> balance locked by open orders"),
  balances: z.array(z.object({ asset: Asset, free: DecimalString, locked: DecimalString })),
  updatedAt: EpochMs,
});

export const MarketView = MarketSpec.extend({
  lastPrice: DecimalString.nullable(),
  ticker: Ticker.nullable(),
});
export const MarketList = z.array(MarketView);
export const BookResponse = BookSnapshot;
export const TradeList = z.array(Execution);
export const CandleView = Candle.extend({
  bucketStart: z.string().describe("RFC 3339 of openTime (the original field)"),
});
export const CandleList = z.array(CandleView);
export const TickerList = z.array(Ticker);

export const Credentials = z.object({
  username: z.string().min(1).max(64).describe("3-32 letters, digits, '_', '.', '-'"),
  password: z.string().min(1).max(256).describe("8-256 characters"),
});
export const LoginRequest = Credentials;
/**
 * Sign-up leaves the length rules to the account checks, so every rule a name or password breaks
 * is reported with its own code (INVALID_USERNAME, INVALID_PASSWORD) in one answer.
 */
export const SignupRequest = z.object({
  username: z.string().min(1).describe("3-32 letters, digits, '_', '.', '-'"),
  password: z.string().min(1).describe("8-256 characters"),
});
export const TokenRequest = z.object({
  userId: z.string().min(1).max(64).optional().describe("The original field: a user id or username"),
  username: z.string().min(1).max(64).optional(),
  password: z.string().min(1).max(256),
}).superRefine((o, ctx) => {
  if (!o.userId?.trim() && !o.username?.trim()) {
    ctx.addIssue({ code: "custom", path: ["userId"], message: "userId (or username) is required" });
  }
});
export const RefreshRequest = z.object({ refreshToken: z.string().min(1).max(200) });
export const LogoutRequest = z.object({
  refreshToken: z.string().min(1).max(200).optional(),
  all: z.boolean().optional().describe("With a Bearer token: sign out every session of the user"),
});

export const UserView = z.object({
  userId: z.string(),
  username: z.string(),
  role: z.enum(["user", "admin"]),
});
export const AuthResponse = z.object({
  user: UserView,
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal("Bearer"),
  expiresIn: z.number().int().describe("Seconds until the access token expires"),
  refreshExpiresIn: z.number().int(),
});
export const TokenResponse = AuthResponse.extend({
  token: z.string().describe("Same as accessToken (original)"),
});
export const MeResponse = z.object({
  userId: z.string(),
  username: z.string().nullable(),
  role: z.enum(["user", "admin"]),
  via: z.enum(["jwt", "apiKey", "legacyKey"]),
});

/**
 * Control characters, bidi controls (U+202E and its kind, which reorder what follows) and lone
 * surrogates would let a label pass for another in a list of keys. Joiners (emoji sequences, ZWNJ in
 * Persian), soft hyphens and tag characters (flags) are ordinary text and stay allowed.
 */
const HIDDEN_OR_BROKEN = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]|\p{Cs}/u;

export const CreateApiKeyRequest = z.object({
  label: z.string().max(100).refine((l) => !HIDDEN_OR_BROKEN.test(l) && l.isWellFormed(), {
    message: "must be printable text: no control characters, bidi controls or broken characters",
  }).default(""),
});
export const ApiKeyView = z.object({
  keyId: z.string(),
  label: z.string(),
  createdAt: EpochMs,
  lastUsedAt: EpochMs.nullable(),
  revokedAt: EpochMs.nullable(),
});
export const CreatedApiKey = ApiKeyView.extend({
  secret: z.string().describe("Shown once; store it safely"),
});
export const KeyIdParams = z.object({ keyId: z.string().min(1).max(64) });

export const SimRunning = z.object({ running: z.boolean() });
export const VolatilityRequest = z.object({
  volatility: jsonNumber(z.number().nonnegative().max(MAX_SIM_VOLATILITY)).optional().describe(
    `Raw volatility per tick (original): the standard deviation of one tick's log return, 0 to ${MAX_SIM_VOLATILITY}`,
  ),
  profile: z.enum(["calm", "normal", "volatile", "crash"]).optional(),
  symbol: SymbolIn.optional().describe("One symbol, or all when absent"),
});
export const VolatilityResponse = z.object({
  running: z.boolean(),
  volatility: z.number().optional(),
  profile: z.string().optional(),
  symbol: z.string().optional(),
});
export const EnsureRequest = z.object({
  startPrice: Decimal.optional(),
  tickSize: Decimal.optional(),
  stepSize: Decimal.optional(),
  minQty: Decimal.optional(),
  maxQty: Decimal.optional(),
  minNotional: Decimal.optional(),
});
export type EnsureRequest = z.output<typeof EnsureRequest>;
export const SymbolControlResponse = z.object({
  running: z.boolean(),
  symbol: z.string().describe("As written in the path"),
  paused: z.boolean(),
  ensured: z.boolean(),
});
/** The simulator's status as it publishes it; fields it adds later pass through. */
export const SimStatusResponse = z.looseObject({
  running: z.boolean(),
  symbols: z.array(z.looseObject({
    symbol: z.string(),
    paused: z.boolean(),
    price: z.string().optional(),
    regime: z.string().optional(),
    profile: z.string().optional(),
    volatility: z.number().optional().describe("Raw volatility per tick of this symbol"),
  })).optional(),
  lastControlId: z.string().optional().describe("The last control the simulator applied"),
  profile: z.string().optional(),
  volatility: z.number().optional().describe("Raw volatility per tick"),
  intervalMs: z.number().optional(),
  step: z.number().optional(),
  bots: z.unknown().optional(),
  accounts: z.unknown().optional(),
  ts: z.number().optional(),
});
export const FundRequest = z.object({
  userId: z.string().min(1).max(64),
  asset: upper(Asset),
  amount: Decimal,
});
export const UserList = z.array(UserView.extend({ createdAt: EpochMs }));
export const RoleRequest = z.object({ role: z.enum(["user", "admin"]) });
export const UserIdParams = z.object({ userId: z.string().min(1).max(64) });

export const PostingsQuery = z.object({
  asset: emptyIsAbsent(upper(Asset)).describe("Only this asset"),
  limit: queryInt(100, 500),
  cursor: emptyIsAbsent(z.string().max(200)).describe("nextCursor of the previous page"),
});
export const PostingsResponse = z.object({
  postings: z.array(z.object({
    ref: z.string().describe("Trade id, or wallet:<stream id> for funding"),
    refType: z.string(),
    leg: z.number().int(),
    kind: z.string().describe("buy_base, sell_quote, fee, open_account, deposit, ..."),
    account: z.string(),
    asset: z.string(),
    amount: z.string().describe("Signed decimal"),
    postedAt: EpochMs,
  })),
  nextCursor: z.string().optional(),
});

export const AdminStatusResponse = z.object({
  engine: z.object({
    checkpoint: z.string().nullable(),
    lastCommandId: z.string().nullable(),
    /** Commands in the stream after the checkpoint (counted up to 10,000). */
    commandsBehind: z.number().int(),
  }),
  streams: z.array(z.object({
    stream: z.string(),
    length: z.number().int(),
    /** Entries ever added (Redis `entries-added`): unlike the length, trimming does not lower it, so
     * its change between two reads is the stream's rate. */
    entriesAdded: z.number().int(),
    /** Messages ever added: `entriesAdded` for most streams; for the engine's packed output streams
     * (one entry per batch) the messages those entries carried. */
    messagesAdded: z.number().int(),
    groups: z.array(z.object({ name: z.string(), lag: z.number().int(), pending: z.number().int() })),
  })),
  sim: z.unknown(),
  gateway: z.object({ gatewayId: z.string(), pendingReplies: z.number().int() }),
  ts: EpochMs,
});
