/**
 * The web app's only door to Kalency: the gateway's REST API (`/v1`, every response parsed with zod)
 * and its WebSocket (`/v1/ws`, with reconnection and resubscription). The server uses it to render
 * pages; islands use it in the browser. It imports only browser-safe modules (zod/mini keeps the
 * bundle small).
 * @module
 */
import * as z from "zod/mini";
import { silenceLimitMs } from "./utils/heartbeat.ts";

// ---------------------------------------------------------------------------------------------
// Schemas: only the fields the pages use; unknown fields are dropped, so additive API changes are
// harmless.

const DECIMAL_REGEXP = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const Dec = z.string().check(z.regex(DECIMAL_REGEXP, "must be a decimal string"));
const OptDec = z.optional(z.nullable(Dec));
const Ms = z.number();
const Side = z.enum(["BUY", "SELL"]);

export const Ticker = z.object({
  symbol: z.string(),
  last: Dec,
  open24h: z.optional(Dec),
  high24h: z.optional(Dec),
  low24h: z.optional(Dec),
  volume24h: z.optional(Dec),
  quoteVolume24h: z.optional(Dec),
  change24h: z.optional(Dec),
  changePct24h: z.optional(Dec),
  trades24h: z.optional(z.number()),
  ts: z.optional(Ms),
});
export type Ticker = z.output<typeof Ticker>;

export const Market = z.object({
  symbol: z.string(),
  base: z.string(),
  quote: z.string(),
  tickSize: Dec,
  stepSize: Dec,
  minQty: Dec,
  maxQty: z.optional(Dec),
  minNotional: Dec,
  status: z.string(),
  /** The price the market opened at (the order form's price before the first trade). */
  startPrice: z.optional(Dec),
  /** Last trade price (absent before the first trade). */
  last: OptDec,
  lastPrice: OptDec,
  /** The 24h ticker, when the market traded. */
  ticker: z.optional(z.nullable(Ticker)),
  makerFeeBps: z.optional(z.number()),
  takerFeeBps: z.optional(z.number()),
});
export type Market = z.output<typeof Market>;

const BookLevel = z.object({ price: Dec, qty: Dec, orders: z.optional(z.number()) });
export const Book = z.object({
  symbol: z.string(),
  seq: z._default(z.number(), 0),
  bids: z.array(BookLevel),
  asks: z.array(BookLevel),
  ts: z.optional(Ms),
});
export type Book = z.output<typeof Book>;

const LevelTuple = z.tuple([Dec, Dec]);
export const BookDelta = z.object({
  symbol: z.string(),
  seq: z.number(),
  bids: z.array(LevelTuple),
  asks: z.array(LevelTuple),
  ts: z.optional(Ms),
});
export type BookDelta = z.output<typeof BookDelta>;

export const Trade = z.object({
  tradeId: z.string(),
  symbol: z.string(),
  seq: z.optional(z.number()),
  price: Dec,
  qty: Dec,
  quoteQty: z.optional(Dec),
  takerSide: z.optional(Side),
  makerOrderId: z.optional(z.string()),
  takerOrderId: z.optional(z.string()),
  makerUserId: z.optional(z.string()),
  takerUserId: z.optional(z.string()),
  buyerUserId: z.optional(z.string()),
  sellerUserId: z.optional(z.string()),
  buyOrderId: z.optional(z.string()),
  sellOrderId: z.optional(z.string()),
  makerFee: z.optional(Dec),
  takerFee: z.optional(Dec),
  feeAsset: z.optional(z.string()),
  ts: Ms,
});
export type Trade = z.output<typeof Trade>;

export const Candle = z.object({
  symbol: z.optional(z.string()),
  timeframe: z.optional(z.string()),
  openTime: Ms,
  open: Dec,
  high: Dec,
  low: Dec,
  close: Dec,
  volume: Dec,
  trades: z.optional(z.number()),
  closed: z.optional(z.boolean()),
});
export type Candle = z.output<typeof Candle>;

export const Order = z.object({
  orderId: z.string(),
  clientOrderId: z.optional(z.nullable(z.string())),
  symbol: z.string(),
  side: Side,
  type: z.enum(["LIMIT", "MARKET"]),
  timeInForce: z.optional(z.string()),
  postOnly: z.optional(z.boolean()),
  status: z.string(),
  price: OptDec,
  qty: Dec,
  quoteQty: OptDec,
  filledQty: Dec,
  remainingQty: Dec,
  filledQuote: z.optional(Dec),
  avgPrice: z.optional(Dec),
  expireReason: z.optional(z.nullable(z.string())),
  createdAt: z.optional(Ms),
  ts: z.optional(Ms),
  /** Order history only: the order's fills. */
  fills: z.optional(z.array(Trade)),
});
export type Order = z.output<typeof Order>;

/** A message of the private `orders.{userId}` channel: an order's new state, and what changed it. */
export const OrderEvent = z.object({ event: z.optional(z.string()), order: Order });

export const Balance = z.object({ asset: z.string(), free: Dec, locked: Dec });
export type Balance = z.output<typeof Balance>;
export const Wallet = z.object({
  balances: z.array(Balance),
  available: z.optional(z.record(z.string(), Dec)),
  reserved: z.optional(z.record(z.string(), Dec)),
  updatedAt: z.optional(Ms),
});
export type Wallet = z.output<typeof Wallet>;

/** One balance change from the ledger (or the wallet stream). */
export const Posting = z.object({
  asset: z.string(),
  /** Signed change of the balance. */
  amount: z.optional(Dec),
  freeDelta: z.optional(Dec),
  lockedDelta: z.optional(Dec),
  free: z.optional(Dec),
  locked: z.optional(Dec),
  balance: z.optional(Dec),
  reason: z.optional(z.string()),
  kind: z.optional(z.string()),
  ref: z.optional(z.nullable(z.string())),
  /** "trade" or "wallet" in the ledger's postings. */
  refType: z.optional(z.string()),
  ts: z.optional(z.union([Ms, z.string()])),
  createdAt: z.optional(z.union([Ms, z.string()])),
  postedAt: z.optional(z.union([Ms, z.string()])),
});
export type Posting = z.output<typeof Posting>;

export const User = z.object({ userId: z.string(), username: z.nullable(z.string()), role: z.string() });
export type User = z.output<typeof User>;

export const Session = z.object({
  user: User,
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number(),
});
export type Session = z.output<typeof Session>;

export const ApiKey = z.object({
  keyId: z.string(),
  label: z.optional(z.nullable(z.string())),
  name: z.optional(z.nullable(z.string())),
  createdAt: z.optional(z.union([Ms, z.string()])),
  lastUsedAt: z.optional(z.nullable(z.union([Ms, z.string()]))),
  revokedAt: z.optional(z.nullable(z.union([Ms, z.string()]))),
});
export type ApiKey = z.output<typeof ApiKey>;
export const NewApiKey = z.object({ keyId: z.string(), secret: z.string() });
export type NewApiKey = z.output<typeof NewApiKey>;

export const SimStatus = z.object({
  running: z.boolean(),
  profile: z.optional(z.string()),
  /** The default profile's raw volatility per tick. */
  volatility: z.optional(z.number()),
  symbols: z.optional(z.array(z.object({
    symbol: z.string(),
    paused: z.boolean(),
    price: z.optional(z.string()),
    regime: z.optional(z.string()),
  }))),
  bots: z.optional(z.unknown()),
  ts: z.optional(Ms),
});
export type SimStatus = z.output<typeof SimStatus>;

export const Health = z.object({
  status: z.string(),
  service: z.optional(z.string()),
  checks: z.record(
    z.string(),
    z.object({ ok: z.boolean(), detail: z.optional(z.unknown()), error: z.optional(z.string()) }),
  ),
});
export type Health = z.output<typeof Health>;

/** The admin status document: kept loose, the admin page shows what it finds. */
export const AdminStatus = z.record(z.string(), z.unknown());
export type AdminStatus = z.output<typeof AdminStatus>;
export const AdminResult = z.record(z.string(), z.unknown());

export const Problem = z.object({
  type: z.optional(z.string()),
  title: z.optional(z.string()),
  status: z.optional(z.number()),
  detail: z.optional(z.string()),
  code: z.optional(z.string()),
  field: z.optional(z.string()),
  errors: z.optional(z.array(z.object({ field: z.string(), message: z.string() }))),
});
export type Problem = z.output<typeof Problem>;

/** A list response: the array comes bare or inside one of `fields` (`{ "orders": [...] }`). */
function listOf<T extends z.ZodMiniType>(item: T, ...fields: string[]) {
  return z.pipe(
    z.transform((v: unknown) => {
      if (Array.isArray(v) || v === null || typeof v !== "object") return v;
      for (const f of fields) {
        const inner = (v as Record<string, unknown>)[f];
        if (Array.isArray(inner)) return inner;
      }
      return v;
    }),
    z.array(item),
  );
}

// ---------------------------------------------------------------------------------------------
// REST

/** A failed gateway call, carrying its problem document (RFC 9457). */
export class GatewayError extends Error {
  readonly status: number;
  readonly code: string;
  /** The request field the problem is about, when the gateway names one. */
  readonly field?: string;
  readonly problem: Problem;
  constructor(status: number, problem: Problem) {
    super(problem.detail ?? problem.title ?? `gateway answered ${status}`);
    this.name = "GatewayError";
    this.status = status;
    this.code = problem.code ?? `HTTP_${status}`;
    this.field = problem.field ?? problem.errors?.[0]?.field;
    this.problem = problem;
  }
}

/** Sentences for problems whose API text is meant for programs. */
const SENTENCES: Record<string, string> = {
  INVALID_CREDENTIALS: "Wrong username or password.",
};

/** The API's request field names as a person reads them. */
const FIELD_WORDS: Record<string, string> = {
  postOnly: "post only",
  timeInForce: "time in force",
  quoteQty: "amount to spend",
  clientOrderId: "client order ID",
  refreshToken: "refresh token",
  qty: "amount",
  minNotional: "the minimum order value",
  minQty: "the minimum amount",
};

const FIELD_REGEXP = new RegExp(`\\b(${Object.keys(FIELD_WORDS).join("|")})\\b`, "g");

/**
 * What to show a person for a gateway's message: a sentence of ours for the codes that need one,
 * else the text with the API's field names in words ("postOnly requires timeInForce GTC" -> "Post
 * only requires time in force GTC").
 */
export function problemText(message: string, code?: string): string {
  const known = code !== undefined ? SENTENCES[code] : undefined;
  if (known) return known;
  const text = message.replace(FIELD_REGEXP, (w) => FIELD_WORDS[w]);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Where the access token comes from, and how to get a new one after a 401. */
export interface TokenSource {
  token(): string | undefined;
  /** Obtains a fresh access token; resolves true when a retry makes sense. */
  refresh(failedToken: string): Promise<boolean>;
  /**
   * Epoch ms when the token expires, if known: a token about to expire is refreshed before the
   * request instead of after the gateway refused it (which browsers log as a failed request).
   */
  expiresAt?(): number | undefined;
}

/** A token expiring within this is refreshed before a request. */
const REFRESH_AHEAD_MS = 30_000;

export interface GatewayClientOptions {
  /** e.g. "http://127.0.0.1:8080" (no trailing /v1). */
  baseUrl: string;
  auth?: TokenSource;
  fetch?: typeof fetch;
  /** Abort requests slower than this. @default {10000} */
  timeoutMs?: number;
}

export interface CandleQuery {
  tf: string;
  /** Epoch ms, inclusive. */
  from?: number;
  to?: number;
  limit?: number;
}

export interface PlaceOrderRequest {
  symbol: string;
  side: "BUY" | "SELL";
  type: "LIMIT" | "MARKET";
  timeInForce?: "GTC" | "IOC" | "FOK";
  postOnly?: boolean;
  price?: string;
  qty?: string;
  quoteQty?: string;
  clientOrderId?: string;
}

/** Typed calls of the gateway's REST API. */
export class GatewayClient {
  readonly baseUrl: string;
  #auth?: TokenSource;
  #fetch: typeof fetch;
  #timeoutMs: number;

  constructor(options: GatewayClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#auth = options.auth;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async #request<T>(
    schema: z.ZodMiniType<T>,
    method: string,
    path: string,
    options: { body?: unknown; auth?: boolean; token?: string; acceptErrors?: boolean } = {},
  ): Promise<T> {
    const send = async (token: string | undefined) => {
      const headers: Record<string, string> = { accept: "application/json" };
      if (options.body !== undefined) headers["content-type"] = "application/json";
      if (token) headers.authorization = `Bearer ${token}`;
      return await this.#fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    };
    let token = options.token ?? (options.auth ? this.#auth?.token() : undefined);
    const expiresAt = options.auth && !options.token ? this.#auth?.expiresAt?.() : undefined;
    if (token && expiresAt !== undefined && expiresAt - Date.now() < REFRESH_AHEAD_MS) {
      if (await this.#auth!.refresh(token)) token = this.#auth!.token();
    }
    if (options.auth && !token) {
      throw new GatewayError(401, { code: "UNAUTHORIZED", detail: "Log in to see this." });
    }
    let res = await send(token);
    let text: string | undefined;
    if (res.status === 401 && options.auth && token && this.#auth && !options.token) {
      // read now: when the refresh fails too, this refusal is the answer
      text = await res.text();
      if (await this.#auth.refresh(token)) {
        res = await send(this.#auth.token());
        text = undefined;
      }
    }
    text ??= await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!res.ok && !(options.acceptErrors && json !== undefined)) {
      const problem = Problem.safeParse(json);
      throw new GatewayError(
        res.status,
        problem.success ? problem.data : { detail: text.slice(0, 200) || res.statusText },
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new GatewayError(502, {
        code: "BAD_GATEWAY_RESPONSE",
        detail: `Unexpected answer from ${method} ${path}: ${issue?.path.join(".") || "body"} ${
          issue?.message ?? ""
        }`,
      });
    }
    return parsed.data;
  }

  // Market data (public)
  markets(): Promise<Market[]> {
    return this.#request(listOf(Market, "markets", "items"), "GET", "/v1/markets");
  }
  tickers(): Promise<Ticker[]> {
    return this.#request(listOf(Ticker, "tickers", "items"), "GET", "/v1/tickers");
  }
  ticker(symbol: string): Promise<Ticker> {
    return this.#request(Ticker, "GET", `/v1/markets/${enc(symbol)}/ticker`);
  }
  book(symbol: string, depth = 20): Promise<Book> {
    return this.#request(Book, "GET", `/v1/markets/${enc(symbol)}/book?depth=${depth}`);
  }
  trades(symbol: string, limit = 50): Promise<Trade[]> {
    return this.#request(
      listOf(Trade, "trades", "items"),
      "GET",
      `/v1/markets/${enc(symbol)}/trades?limit=${limit}`,
    );
  }
  candles(symbol: string, q: CandleQuery): Promise<Candle[]> {
    const p = new URLSearchParams({ tf: q.tf });
    if (q.from !== undefined) p.set("from", new Date(q.from).toISOString());
    if (q.to !== undefined) p.set("to", new Date(q.to).toISOString());
    if (q.limit !== undefined) p.set("limit", String(q.limit));
    return this.#request(
      listOf(Candle, "candles", "items"),
      "GET",
      `/v1/markets/${enc(symbol)}/candles?${p}`,
    );
  }

  // Auth
  signup(username: string, password: string): Promise<Session> {
    return this.#request(Session, "POST", "/v1/auth/signup", { body: { username, password } });
  }
  login(username: string, password: string): Promise<Session> {
    return this.#request(Session, "POST", "/v1/auth/login", { body: { username, password } });
  }
  /** Trades a refresh token for a new pair (the old refresh token stops working). */
  refresh(refreshToken: string): Promise<Session> {
    return this.#request(
      z.object({
        user: z.optional(User),
        accessToken: z.string(),
        refreshToken: z.string(),
        expiresIn: z.number(),
      }),
      "POST",
      "/v1/auth/refresh",
      { body: { refreshToken } },
    ) as Promise<Session>;
  }
  /** Revokes a refresh token: the session it belongs to cannot be refreshed any more. */
  async logout(refreshToken: string): Promise<void> {
    await this.#request(z.unknown(), "POST", "/v1/auth/logout", { body: { refreshToken } });
  }
  me(token?: string): Promise<User> {
    return this.#request(User, "GET", "/v1/me", { auth: true, token });
  }

  // Trading (authenticated)
  placeOrder(order: PlaceOrderRequest): Promise<Order> {
    return this.#request(Order, "POST", "/v1/orders", { body: order, auth: true });
  }
  cancelOrder(orderId: string): Promise<Order> {
    return this.#request(Order, "DELETE", `/v1/orders/${enc(orderId)}`, { auth: true });
  }
  /** Cancels every open order of the user on `symbol`; resolves with the canceled orders. */
  cancelAll(symbol: string): Promise<Order[]> {
    return this.#request(listOf(Order, "orders", "items"), "DELETE", `/v1/orders?symbol=${enc(symbol)}`, {
      auth: true,
    });
  }
  openOrders(): Promise<Order[]> {
    return this.#request(listOf(Order, "orders", "items"), "GET", "/v1/orders/open", { auth: true });
  }
  /** The newest orders in all states, with their fills. */
  orderHistory(limit = 100): Promise<Order[]> {
    return this.#request(listOf(Order, "orders"), "GET", `/v1/orders/history?limit=${limit}`, { auth: true });
  }
  /** A page of the order history: `cursor` is the `nextCursor` of the page before (none: the newest). */
  orderHistoryPage(limit: number, cursor?: string): Promise<{ orders: Order[]; nextCursor?: string }> {
    const query = `limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ""}`;
    return this.#request(
      z.object({ orders: z.array(Order), nextCursor: z.optional(z.nullable(z.string())) }),
      "GET",
      `/v1/orders/history?${query}`,
      { auth: true },
    ).then((r) => (r.nextCursor ? { orders: r.orders, nextCursor: r.nextCursor } : { orders: r.orders }));
  }
  /** The user's fills, newest first; with `before` (a tradeId of theirs), the fills older than it. */
  async fills(limit = 100, before?: string): Promise<Trade[]> {
    const oldestFirst = await this.#request(
      listOf(Trade, "fills", "trades"),
      "GET",
      `/v1/me/trades?limit=${limit}${before ? `&before=${encodeURIComponent(before)}` : ""}`,
      {
        auth: true,
      },
    );
    return oldestFirst.reverse();
  }
  wallet(): Promise<Wallet> {
    return this.#request(Wallet, "GET", "/v1/wallet", { auth: true });
  }
  postings(limit = 100): Promise<Posting[]> {
    return this.#request(listOf(Posting, "postings", "items"), "GET", `/v1/wallet/postings?limit=${limit}`, {
      auth: true,
    });
  }

  // API keys
  apiKeys(): Promise<ApiKey[]> {
    return this.#request(listOf(ApiKey, "keys", "apiKeys", "items"), "GET", "/v1/api-keys", { auth: true });
  }
  createApiKey(label: string): Promise<NewApiKey> {
    return this.#request(NewApiKey, "POST", "/v1/api-keys", { body: { label }, auth: true });
  }
  async revokeApiKey(keyId: string): Promise<void> {
    await this.#request(z.unknown(), "DELETE", `/v1/api-keys/${enc(keyId)}`, { auth: true });
  }

  // Admin
  /** The simulator's published status (running, profile, symbols, bots). */
  simStatus(): Promise<SimStatus> {
    return this.#request(SimStatus, "GET", "/v1/admin/sim/status", { auth: true });
  }
  /** The system status (services, stream lags), where the gateway offers it. */
  adminStatus(): Promise<AdminStatus> {
    return this.#request(AdminStatus, "GET", "/v1/admin/status", { auth: true });
  }
  /** The gateway's Prometheus metrics, as text. */
  async metricsText(): Promise<string> {
    const res = await this.#fetch(`${this.baseUrl}/metrics`, {
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new GatewayError(res.status, { detail: text.slice(0, 200) });
    return text;
  }
  /** The gateway's readiness report (public). */
  health(): Promise<Health> {
    return this.#request(Health, "GET", "/healthz", { acceptErrors: true });
  }
  adminSim(action: "start" | "stop"): Promise<Record<string, unknown>> {
    return this.#request(AdminResult, "POST", `/v1/admin/sim/${action}`, { auth: true, body: {} });
  }
  adminVolatility(body: { profile?: string; volatility?: number }): Promise<Record<string, unknown>> {
    return this.#request(AdminResult, "POST", "/v1/admin/sim/volatility-profile", { auth: true, body });
  }
  /** Sets how many bots of a kind run and how many orders each sends per second. */
  adminBots(body: { kind: string; count?: number; ratePerSec?: number }): Promise<Record<string, unknown>> {
    return this.#request(AdminResult, "POST", "/v1/admin/sim/bots", { auth: true, body });
  }
  /** `filters`: for "ensure", a new market's start price (and other filters) instead of the defaults. */
  adminSymbol(
    symbol: string,
    action: "pause" | "resume" | "ensure",
    filters: { startPrice?: string } = {},
  ): Promise<Record<string, unknown>> {
    return this.#request(AdminResult, "POST", `/v1/admin/symbols/${enc(symbol)}/${action}`, {
      auth: true,
      body: filters,
    });
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** The last trade price of a market listing, whichever name the gateway gives it. */
export function lastPriceOf(m: Market): string | undefined {
  return m.last ?? m.lastPrice ?? undefined;
}

// ---------------------------------------------------------------------------------------------
// WebSocket

/** A data message of one channel. */
export interface ChannelMessage {
  channel: string;
  /** "snapshot", "delta", "trade", "candle", "ticker", "order", "wallet", ... */
  type: string;
  seq?: number;
  data: unknown;
}

/** Delivered to a subscriber each time its channel is (re)subscribed: refetch what may be missed. */
export interface SubscribedEvent {
  channel: string;
  type: "subscribed";
  seq?: undefined;
  data?: undefined;
}

export type ChannelListener = (message: ChannelMessage | SubscribedEvent) => void;
export type SocketStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface MarketSocketOptions {
  /** Access token for private channels (read again on every (re)connect). */
  token?: () => string | undefined;
  /** Called when the gateway refuses the token; resolve true after a refresh to authenticate again. */
  onAuthFailed?: (token: string) => Promise<boolean>;
  /** First reconnect delay. @default {500} */
  minDelayMs?: number;
  /** Largest reconnect delay. @default {10000} */
  maxDelayMs?: number;
  WebSocket?: typeof WebSocket;
}

const PRIVATE_REGEXP = /^(orders|wallet)(\.|$)/;

/**
 * One WebSocket to the gateway, shared by every island of a page. Subscriptions survive reconnects:
 * on every (re)open it authenticates when it has a token, then subscribes again, and tells each
 * listener with a `subscribed` event (so a book waits for its new snapshot and charts refetch).
 * Reconnects back off exponentially with jitter; a silent connection (no heartbeat) is dropped.
 */
export class MarketSocket {
  readonly url: string;
  #options: MarketSocketOptions;
  #listeners = new Map<string, Set<ChannelListener>>();
  /** Channels the gateway confirmed on the current connection. */
  #acked = new Set<string>();
  #statusListeners = new Set<(s: SocketStatus) => void>();
  #ws?: WebSocket;
  #status: SocketStatus = "closed";
  #attempt = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #watchdog?: ReturnType<typeof setTimeout>;
  #heartbeatMs = 15_000;
  #authed = false;
  #stopped = false;

  constructor(url: string, options: MarketSocketOptions = {}) {
    this.url = url;
    this.#options = options;
  }

  get status(): SocketStatus {
    return this.#status;
  }

  /** Listens to a channel; returns the function that stops listening. */
  subscribe(channel: string, listener: ChannelListener): () => void {
    let set = this.#listeners.get(channel);
    if (!set) {
      set = new Set();
      this.#listeners.set(channel, set);
      this.#sendSubscribe([channel]);
    } else if (this.#acked.has(channel)) {
      // The channel was confirmed before this listener came (another island subscribed first):
      // it gets its own `subscribed`, or it would never refetch what its page's data missed.
      const joined = set;
      queueMicrotask(() => {
        if (joined.has(listener) && this.#acked.has(channel)) listener({ channel, type: "subscribed" });
      });
    }
    set.add(listener);
    this.#ensureOpen();
    return () => {
      const s = this.#listeners.get(channel);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) {
        this.#listeners.delete(channel);
        this.#acked.delete(channel);
        this.#send({ op: "unsubscribe", channels: [channel] });
      }
    };
  }

  /** Subscribes again to a held channel: the gateway answers with a fresh snapshot (book resync). */
  resubscribe(channel: string): void {
    if (this.#listeners.has(channel)) this.#sendSubscribe([channel]);
  }

  /** Follows connection state changes (for a "live / reconnecting" badge). */
  onStatus(listener: (s: SocketStatus) => void): () => void {
    this.#statusListeners.add(listener);
    listener(this.#status);
    return () => this.#statusListeners.delete(listener);
  }

  /** Authenticates again (after a login or a token refresh) and subscribes the private channels. */
  reauthenticate(): void {
    this.#authed = false;
    if (this.#ws?.readyState === 1) this.#authenticate();
  }

  /** Closes for good. */
  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#watchdog);
    this.#ws?.close(1000);
    this.#setStatus("closed");
  }

  #setStatus(s: SocketStatus) {
    if (s === this.#status) return;
    this.#status = s;
    for (const l of this.#statusListeners) l(s);
  }

  #ensureOpen() {
    if (this.#stopped || this.#ws || this.#timer !== undefined) return;
    this.#connect();
  }

  #connect() {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#setStatus(this.#attempt === 0 ? "connecting" : "reconnecting");
    const WS = this.#options.WebSocket ?? WebSocket;
    const ws = new WS(this.url);
    this.#ws = ws;
    this.#authed = false;
    this.#acked.clear();
    ws.onopen = () => {
      this.#attempt = 0;
      this.#setStatus("open");
      this.#armWatchdog();
      const channels = [...this.#listeners.keys()];
      const pub = channels.filter((c) => !PRIVATE_REGEXP.test(c));
      if (pub.length) this.#sendSubscribe(pub);
      this.#authenticate();
    };
    // a socket given up on (see #armWatchdog) may still deliver: only the current one counts
    ws.onmessage = (e) => this.#ws === ws && this.#onMessage(String(e.data));
    ws.onclose = () => this.#dropped(ws);
    ws.onerror = () => {};
  }

  /** The connection `ws` is gone: reconnect after a backoff. */
  #dropped(ws: WebSocket) {
    if (this.#ws !== ws) return;
    this.#ws = undefined;
    this.#acked.clear();
    clearTimeout(this.#watchdog);
    if (this.#stopped) return;
    this.#setStatus("reconnecting");
    const delay = Math.min(
      this.#options.maxDelayMs ?? 10_000,
      (this.#options.minDelayMs ?? 500) * 2 ** this.#attempt,
    );
    this.#attempt++;
    // Full jitter in the upper half keeps a crowd of tabs from reconnecting in step.
    this.#timer = setTimeout(() => this.#connect(), delay / 2 + Math.random() * delay / 2);
  }

  #armWatchdog() {
    clearTimeout(this.#watchdog);
    // No message (data or heartbeat) for a few heartbeats: the connection is dead even if TCP says
    // not. A frozen gateway never completes the close handshake either (the browser's close event
    // can take a minute), so the socket is given up on at once rather than waited for.
    this.#watchdog = setTimeout(() => {
      const ws = this.#ws;
      if (!ws) return;
      this.#dropped(ws);
      ws.close(4000);
    }, silenceLimitMs(this.#heartbeatMs));
  }

  #authenticate() {
    const token = this.#options.token?.();
    if (token) this.#send({ op: "auth", token });
  }

  #privateChannels(): string[] {
    return [...this.#listeners.keys()].filter((c) => PRIVATE_REGEXP.test(c));
  }

  #sendSubscribe(channels: string[]) {
    const allowed = channels.filter((c) => !PRIVATE_REGEXP.test(c) || this.#authed);
    if (allowed.length) this.#send({ op: "subscribe", channels: allowed });
  }

  #send(op: Record<string, unknown>) {
    if (this.#ws?.readyState === 1) this.#ws.send(JSON.stringify(op));
  }

  #onMessage(text: string) {
    this.#armWatchdog();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    // The gateway may batch several messages into one frame as a JSON array.
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      if (m && typeof m === "object") this.#handle(m as Record<string, unknown>);
    }
  }

  #handle(m: Record<string, unknown>) {
    const type = String(m.type ?? "");
    const channel = typeof m.channel === "string" ? m.channel : undefined;
    switch (type) {
      case "welcome":
        if (typeof m.heartbeatMs === "number" && m.heartbeatMs > 0) this.#heartbeatMs = m.heartbeatMs;
        this.#armWatchdog();
        return;
      case "authenticated":
        this.#authed = true;
        this.#sendSubscribe(this.#privateChannels());
        return;
      case "subscribed":
        if (channel && this.#listeners.has(channel)) this.#acked.add(channel);
        if (channel) this.#emit(channel, { channel, type: "subscribed" });
        return;
      case "heartbeat":
      case "pong":
      case "unsubscribed":
        return;
      case "error": {
        const code = String(m.code ?? "");
        const token = this.#options.token?.();
        if ((code === "AUTH_FAILED" || code === "AUTH_REQUIRED") && token && this.#options.onAuthFailed) {
          void this.#options.onAuthFailed(token).then((ok) => ok && this.reauthenticate());
        }
        return;
      }
    }
    if (channel) {
      this.#emit(channel, {
        channel,
        type,
        seq: typeof m.seq === "number" ? m.seq : undefined,
        data: m.data,
      });
    }
  }

  #emit(channel: string, message: ChannelMessage | SubscribedEvent) {
    const set = this.#listeners.get(channel) ?? this.#listeners.get(channel.toUpperCase());
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(message);
      } catch (e) {
        // A bad message must not take down the other listeners.
        console.error("channel listener failed", channel, e);
      }
    }
  }
}

/** The WebSocket URL of a gateway base URL ("http://h:8080" -> "ws://h:8080/v1/ws"). */
export function socketUrl(baseUrl: string): string {
  return baseUrl.replace(/^http/, "ws").replace(/\/+$/, "") + "/v1/ws";
}

/** Parses a channel payload with a schema; undefined (and a console note) when it does not fit. */
export function parsePayload<T>(schema: z.ZodMiniType<T>, data: unknown): T | undefined {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  console.warn("unexpected channel payload", r.error.issues[0]);
  return undefined;
}
