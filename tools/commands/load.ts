/**
 * `tools load`: a bounded load generator for a local Kalency. It signs up users and places limit
 * orders around the mid price at a fixed rate, through the gateway's REST API or straight onto the
 * command stream (`--direct`), and reports acks, rejections by reason and ack latency percentiles.
 * Loopback only, bounded in count and in time.
 * @module
 */
import {
  DEFAULT_MARKETS,
  type EngineReply,
  keys,
  MarketSpec,
  streamKey,
  STREAMS,
  Symbol as SymbolSchema,
} from "@lib/contracts";
import { connectRedis, encodeEntry, type RedisClient } from "@lib/redis";
import { decimalPlaces, formatUnits, parseUnits } from "@lib/money";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  flag,
  InterruptedError,
  intOption,
  openRedis,
  type ParsedArgs,
  sleep,
  stringOption,
  UsageError,
} from "../command.ts";
import { formatDuration, formatMs, percentile, table, trimDecimal } from "../format.ts";
import { openReplyLink } from "../engine_link.ts";
import { midpoint, readBook } from "./book.ts";

/**
 * One order of the plan, relative to the market: its price is set from the mid price when it is
 * sent, so that a long run follows the market instead of piling orders at the price it began at.
 */
export interface PlannedOrder {
  side: "BUY" | "SELL";
  /** Ticks from the mid: resting orders on their own side, crossing ones into the other. */
  offsetTicks: number;
  /** Crosses the spread as an IOC (true) or rests as a GTC (false). */
  cross: boolean;
  /** Multiple (1 to 3) of the smallest valid quantity at the order's price. */
  size: number;
}

/** An order as it is sent. */
export interface PricedOrder {
  side: "BUY" | "SELL";
  price: string;
  qty: string;
  timeInForce: "GTC" | "IOC";
}

/** A small seeded generator (mulberry32): the same seed gives the same plan. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fewest lots of `step` whose notional at `price` reaches the market's minimums. */
export function minLots(market: MarketSpec, price: string): bigint {
  const dp = decimalPlaces(price);
  const ds = decimalPlaces(market.stepSize);
  const p = parseUnits(price, dp);
  const s = parseUnits(market.stepSize, ds);
  const notional = parseUnits(market.minNotional, dp + ds);
  const byNotional = p * s === 0n ? 1n : (notional + p * s - 1n) / (p * s);
  const byQty = (parseUnits(market.minQty, ds) + s - 1n) / s;
  return byNotional > byQty ? byNotional : byQty;
}

/**
 * Plans `count` limit orders: about 60 % rest one to ten ticks away from the mid on their own side
 * (GTC), about 40 % cross up to ten ticks into the other side (IOC) so trades happen and the book
 * does not grow without bound. Sizes are one to three times the smallest valid order.
 */
export function planOrders(count: number, seed: number): PlannedOrder[] {
  const rand = seededRandom(seed);
  const plan: PlannedOrder[] = [];
  for (let i = 0; i < count; i++) {
    const side = rand() < 0.5 ? "BUY" : "SELL";
    const cross = rand() < 0.4;
    const offset = 1 + Math.floor(rand() * 10);
    // resting: below the mid for a buy, above for a sell; crossing: the other way round
    const up = (side === "BUY") === cross;
    plan.push({ side, offsetTicks: up ? offset : -offset, cross, size: 1 + Math.floor(rand() * 3) });
  }
  return plan;
}

/** The price and quantity of a planned order with the market's mid at `mid`. */
export function priceOrder(market: MarketSpec, mid: string, order: PlannedOrder): PricedOrder {
  const dt = decimalPlaces(market.tickSize);
  const places = Math.max(dt, decimalPlaces(mid));
  const midTicks = parseUnits(mid, places) / parseUnits(market.tickSize, places);
  let ticks = midTicks + BigInt(order.offsetTicks);
  if (ticks < 1n) ticks = 1n;
  const price = formatUnits(ticks * parseUnits(market.tickSize, dt), dt);
  const ds = decimalPlaces(market.stepSize);
  const lots = minLots(market, price) * BigInt(order.size);
  return {
    side: order.side,
    price,
    qty: trimDecimal(formatUnits(lots * parseUnits(market.stepSize, ds), ds)),
    timeInForce: order.cross ? "IOC" : "GTC",
  };
}

/** How often a run reads the mid price again. */
const MID_REFRESH_MS = 2000;

/** True for a URL whose host is the loopback interface. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** What happened to one order. */
export type Outcome =
  | { kind: "acked"; status: string; latencyMs: number }
  | { kind: "rejected"; reason: string; latencyMs: number }
  | { kind: "failed"; reason: string };

/** Running totals of a load run. */
export class LoadStats {
  sent = 0;
  acked = 0;
  filled = 0;
  readonly rejected = new Map<string, number>();
  readonly failed = new Map<string, number>();
  readonly latencies: number[] = [];

  add(o: Outcome): void {
    if (o.kind === "acked") {
      this.acked++;
      if (o.status === "FILLED" || o.status === "PARTIALLY_FILLED") this.filled++;
      this.latencies.push(o.latencyMs);
    } else if (o.kind === "rejected") {
      this.rejected.set(o.reason, (this.rejected.get(o.reason) ?? 0) + 1);
      this.latencies.push(o.latencyMs);
    } else this.failed.set(o.reason, (this.failed.get(o.reason) ?? 0) + 1);
  }

  get answered(): number {
    return this.latencies.length + [...this.failed.values()].reduce((a, b) => a + b, 0);
  }

  summary(elapsedMs: number, mode: string, unanswered: number): LoadSummary {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const rejected = [...this.rejected.values()].reduce((a, b) => a + b, 0);
    return {
      mode,
      sent: this.sent,
      acked: this.acked,
      filledOrPartly: this.filled,
      rejected,
      rejectedByReason: Object.fromEntries([...this.rejected].sort((a, b) => b[1] - a[1])),
      failed: Object.fromEntries(this.failed),
      unanswered,
      elapsedMs: Math.round(elapsedMs),
      sentPerSecond: elapsedMs > 0 ? Math.round((this.sent / elapsedMs) * 1000 * 10) / 10 : 0,
      latencyMs: {
        p50: percentile(sorted, 50) ?? null,
        p90: percentile(sorted, 90) ?? null,
        p99: percentile(sorted, 99) ?? null,
        max: sorted.length ? sorted[sorted.length - 1] : null,
      },
    };
  }
}

export interface LoadSummary {
  mode: string;
  sent: number;
  acked: number;
  filledOrPartly: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  failed: Record<string, number>;
  unanswered: number;
  elapsedMs: number;
  sentPerSecond: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
}

/** What a reader of the summary should know: a run cut short, orders a rate limit refused. */
export function summaryNotes(
  s: LoadSummary,
  orders: number,
  maxSeconds: number,
  notSent: number,
  interrupted = false,
): string[] {
  const notes: string[] = [];
  if (notSent > 0) {
    const why = interrupted ? "Ctrl-C" : `--max-seconds (${maxSeconds} s, sign-ups included)`;
    notes.push(`${why} ended the run; ${notSent} of ${orders} orders were not sent`);
  }
  const limited = s.rejectedByReason.RATE_LIMITED ?? 0;
  if (limited > 0) {
    notes.push(
      `the gateway's rate limits refused ${limited} orders (every load user comes from one address); ` +
        "for load tests run the gateway with KALENCY_RATE_LIMIT=false",
    );
  }
  const full = s.rejectedByReason.TOO_MANY_OPEN_ORDERS ?? 0;
  if (full > 0) {
    notes.push(
      `${full} orders were refused because their user had reached the open-order limit (resting orders ` +
        "the market moved away from stay open); spread a long run over more --users",
    );
  }
  return notes;
}

/** Text lines of a summary. */
export function formatSummary(s: LoadSummary, style: CommandContext["out"]["style"]): string[] {
  const ms = (v: number | null) => formatMs(v ?? undefined);
  const lines = [
    style.bold(`load (${s.mode}): ${s.sent} sent in ${formatDuration(s.elapsedMs)} (${s.sentPerSecond}/s)`),
    `  acked     ${s.acked} (${s.filledOrPartly} filled or partly filled)`,
    `  rejected  ${s.rejected}`,
  ];
  for (
    const row of table(
      undefined,
      Object.entries(s.rejectedByReason).map(([r, n]) => [`    ${r}`, String(n)]),
      ["left", "right"],
    )
  ) {
    lines.push(style.yellow(row));
  }
  const failed = Object.entries(s.failed);
  if (failed.length) {
    lines.push(`  failed    ${failed.reduce((a, [, n]) => a + n, 0)}`);
    for (const [r, n] of failed) lines.push(style.red(`    ${r}  ${n}`));
  }
  if (s.unanswered) {
    lines.push(style.red(`  unanswered ${s.unanswered} (still in flight when the time ran out)`));
  }
  lines.push(
    `  ack latency p50 ${ms(s.latencyMs.p50)}, p90 ${ms(s.latencyMs.p90)}, p99 ${ms(s.latencyMs.p99)}, max ${
      ms(s.latencyMs.max)
    }`,
  );
  return lines;
}

/** Where the orders go. */
interface Target {
  readonly mode: string;
  /** Creates the users; returns how many exist. */
  setup(users: number, deadline: number, signal: AbortSignal): Promise<void>;
  /** Queues one order of user number `user`; the outcome arrives through `record`. */
  submit(order: PricedOrder, user: number): void;
  /** Sends what was queued and collects answers. */
  pump(): Promise<void>;
  inFlight(): number;
  close(): Promise<void>;
}

interface TargetOptions {
  symbol: string;
  runId: string;
  timeoutMs: number;
  record: (o: Outcome) => void;
}

/** Orders straight onto `<prefix>:stream:orders`, replies on a reply stream of this run. */
class DirectTarget implements Target {
  readonly mode = "direct to stream:orders";
  #queue: { fields: Record<string, string>; cmdId: string }[] = [];
  #waiting = new Map<string, number>();
  #reading?: Promise<void>;
  #stopped = false;
  #link;
  #commandKey: string;
  constructor(
    private redis: RedisClient,
    private reader: RedisClient,
    private prefix: string,
    private o: TargetOptions,
  ) {
    this.#link = openReplyLink(reader, prefix, `load-${o.runId}`);
    this.#commandKey = streamKey(prefix, STREAMS.orders);
  }
  #user(i: number) {
    return `load-${this.o.runId}-${i}`;
  }
  async setup(users: number): Promise<void> {
    const multi = this.redis.multi();
    for (let i = 0; i < users; i++) {
      const c = { type: "openAccount" as const, cmdId: crypto.randomUUID(), userId: this.#user(i) };
      multi.xAdd(this.#commandKey, "*", encodeEntry(STREAMS.orders, c));
    }
    await multi.execAsPipeline();
  }
  submit(order: PricedOrder, user: number): void {
    const c = this.#link.command({
      type: "place",
      userId: this.#user(user),
      symbol: this.o.symbol,
      side: order.side,
      orderType: "LIMIT",
      timeInForce: order.timeInForce,
      price: order.price,
      qty: order.qty,
    });
    this.#queue.push({ fields: encodeEntry(STREAMS.orders, c), cmdId: c.cmdId });
  }
  async pump(): Promise<void> {
    this.#reading ??= this.#readReplies();
    if (this.#queue.length) {
      const batch = this.#queue.splice(0);
      const multi = this.redis.multi();
      for (const q of batch) multi.xAdd(this.#commandKey, "*", q.fields);
      const t = performance.now();
      for (const q of batch) this.#waiting.set(q.cmdId, t);
      await multi.execAsPipeline();
    }
    const now = performance.now();
    for (const [id, t] of this.#waiting) {
      if (now - t > this.o.timeoutMs) {
        this.#waiting.delete(id);
        this.o.record({ kind: "failed", reason: "NO_REPLY_IN_TIME" });
      }
    }
  }
  /** Reads replies as they arrive, on the reader's own connection, so latencies are not rounded to a poll. */
  async #readReplies(): Promise<void> {
    let cursor = "0-0";
    while (!this.#stopped) {
      const r = await this.#link.poll(cursor, 100);
      cursor = r.cursor;
      const now = performance.now();
      for (const reply of r.replies) this.#answer(reply, now);
    }
  }
  #answer(reply: EngineReply, now: number): void {
    const t = this.#waiting.get(reply.cmdId);
    if (t === undefined) return;
    this.#waiting.delete(reply.cmdId);
    const latencyMs = now - t;
    this.o.record(
      reply.ok
        ? { kind: "acked", status: reply.order?.status ?? "OK", latencyMs }
        : { kind: "rejected", reason: reply.reason, latencyMs },
    );
  }
  inFlight(): number {
    return this.#waiting.size + this.#queue.length;
  }
  async close(): Promise<void> {
    this.#stopped = true;
    await this.#reading?.catch(() => {});
    await this.#link[Symbol.asyncDispose]();
  }
}

/** A signed-up user's tokens; the access token is refreshed before it expires. */
interface LoadSession {
  username: string;
  access: string;
  refresh: string;
  /** Date.now() after which the access token should be refreshed (three quarters of its life). */
  renewAt: number;
  renewing: boolean;
}

/** The session of a signup, login or refresh answer, or undefined when the answer lacks its tokens. */
function sessionOf(username: string, body: Record<string, unknown>): LoadSession | undefined {
  const { accessToken, refreshToken, expiresIn } = body;
  if (typeof accessToken !== "string" || typeof refreshToken !== "string") return undefined;
  const lifeMs = (typeof expiresIn === "number" ? expiresIn : 900) * 1000;
  return {
    username,
    access: accessToken,
    refresh: refreshToken,
    renewAt: Date.now() + lifeMs * 0.75,
    renewing: false,
  };
}

/** Orders through the gateway's REST API, one signed-up user per session. */
class GatewayTarget implements Target {
  readonly mode: string;
  #sessions: LoadSession[] = [];
  #inFlight = 0;
  #maxInFlight: number;
  constructor(private base: string, private o: TargetOptions, maxInFlight: number) {
    this.mode = `REST ${base}`;
    this.#maxInFlight = maxInFlight;
  }
  /** The load users' password (one for all: they live as long as the run). */
  #password = `load-${crypto.randomUUID()}`;
  async setup(users: number, deadline: number, signal: AbortSignal): Promise<void> {
    const password = this.#password;
    for (let i = 0; i < users; i++) {
      const username = `load_${this.o.runId}_${i}`;
      while (true) {
        if (signal.aborted) throw new InterruptedError();
        if (Date.now() > deadline) {
          throw new Error(`signing up ${users} users took longer than --max-seconds`);
        }
        const res = await fetch(`${this.base}/v1/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username, password }),
          // a sign-up hashes a password: --timeout is for orders, not for this
          signal: AbortSignal.any([signal, AbortSignal.timeout(Math.max(this.o.timeoutMs, 10_000))]),
        }).catch((e) => {
          throw signal.aborted ? e : unreachable(this.base, e);
        });
        const body = await res.json().catch(() => ({}));
        if (res.status === 429) {
          // the gateway limits signups per address: wait as it asks
          const wait = Number(res.headers.get("retry-after") ?? "1");
          await sleep(Math.min(10, Math.max(0.1, wait)) * 1000, signal);
          continue;
        }
        const session = res.status === 201 ? sessionOf(username, body) : undefined;
        if (!session) {
          throw new Error(
            `signup of ${username} failed: HTTP ${res.status} ${body.code ?? ""} ${body.detail ?? ""}`.trim(),
          );
        }
        this.#sessions.push(session);
        break;
      }
    }
  }
  submit(order: PricedOrder, user: number): void {
    this.#inFlight++;
    const t = performance.now();
    fetch(`${this.base}/v1/orders`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${this.#sessions[user].access}`,
      },
      body: JSON.stringify({
        symbol: this.o.symbol,
        side: order.side,
        type: "LIMIT",
        timeInForce: order.timeInForce,
        price: order.price,
        qty: order.qty,
      }),
      signal: AbortSignal.timeout(this.o.timeoutMs),
    }).then(async (res) => {
      const body = await res.json().catch(() => ({}));
      const latencyMs = performance.now() - t;
      if (res.status === 201 || res.status === 200) {
        this.o.record({ kind: "acked", status: String(body.status), latencyMs });
      } else if (res.status >= 400 && res.status < 500) {
        this.o.record({ kind: "rejected", reason: String(body.code ?? `HTTP_${res.status}`), latencyMs });
      } else this.o.record({ kind: "failed", reason: String(body.code ?? `HTTP_${res.status}`) });
    }).catch((e) => {
      this.o.record({
        kind: "failed",
        reason: (e as Error).name === "TimeoutError" ? "NO_REPLY_IN_TIME" : "NETWORK_ERROR",
      });
    }).finally(() => this.#inFlight--);
  }
  /** Renews the access tokens that are three quarters through their life (a run may outlast them). */
  pump(): Promise<void> {
    const now = Date.now();
    for (const session of this.#sessions) {
      if (session.renewing || now < session.renewAt) continue;
      session.renewing = true;
      this.#inFlight++;
      this.#renew(session).finally(() => {
        session.renewing = false;
        this.#inFlight--;
      });
    }
    return Promise.resolve();
  }
  /**
   * A new token pair by the refresh token; when that fails for good (refused, or no answer: the
   * gateway may have rotated the token already, and sending it again would end every session of the
   * user), by logging in again. A rate limit is waited out with the old token, which still works.
   */
  async #renew(session: LoadSession): Promise<void> {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${this.base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(Math.max(this.o.timeoutMs, 10_000)),
      });
      const renewed = res.ok ? sessionOf(session.username, await res.json().catch(() => ({}))) : undefined;
      if (!res.ok) await res.body?.cancel();
      return { status: res.status, renewed };
    };
    try {
      let r = await post("/v1/auth/refresh", { refreshToken: session.refresh }).catch(() => undefined);
      if (r?.status !== 429 && !r?.renewed) {
        r = await post("/v1/auth/login", { username: session.username, password: this.#password });
      }
      if (r.renewed) Object.assign(session, r.renewed);
      else session.renewAt = Date.now() + 5_000;
    } catch {
      session.renewAt = Date.now() + 5_000;
    }
  }
  inFlight(): number {
    return this.#inFlight;
  }
  get full(): boolean {
    return this.#inFlight >= this.#maxInFlight;
  }
  async close(): Promise<void> {
    const until = Date.now() + this.o.timeoutMs;
    while (this.#inFlight > 0 && Date.now() < until) await sleep(10);
  }
}

async function marketAndMid(
  redis: RedisClient | undefined,
  prefix: string,
  symbol: string,
): Promise<{ market: MarketSpec; mid: string }> {
  let market = DEFAULT_MARKETS.find((m) => m.symbol === symbol);
  let mid = market?.startPrice;
  if (redis) {
    const text = await redis.hGet(keys.markets(prefix), symbol);
    if (text) market = MarketSpec.parse(JSON.parse(text));
    const book = await readBook(redis, prefix, symbol).catch(() => undefined);
    const bid = book?.bids[0]?.price;
    const ask = book?.asks[0]?.price;
    mid = bid && ask ? midpoint(bid, ask) : bid ?? ask ?? market?.startPrice;
  }
  if (!market || !mid) {
    throw new UsageError(
      `unknown market ${symbol}; markets: ${DEFAULT_MARKETS.map((m) => m.symbol).join(", ")}`,
    );
  }
  return { market, mid };
}

/** The error of a request that did not reach the gateway at all. */
function unreachable(base: string, e: unknown): Error {
  return new Error(
    `cannot reach the gateway at ${base}: ${(e as Error).message} ` +
      "(is it running? set --gateway-url or KALENCY_GATEWAY_URL)",
  );
}

/**
 * The market and its mid price as the gateway answers them: its markets list (markets added at run
 * time included) and the best bid and ask of its book, so that orders go where the market is now.
 */
async function marketAndMidFromGateway(
  gatewayUrl: string,
  symbol: string,
  signal: AbortSignal,
): Promise<{ market: MarketSpec; mid: string }> {
  const get = async (path: string): Promise<unknown> => {
    const res = await fetch(`${gatewayUrl}${path}`, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
    }).catch((e) => {
      throw signal.aborted ? e : unreachable(gatewayUrl, e);
    });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return await res.json();
  };
  const markets = ((await get("/v1/markets")) ?? []) as { symbol?: string; lastPrice?: string }[];
  const listed = markets.find((m) => m.symbol === symbol);
  if (!listed) {
    throw new UsageError(`unknown market ${symbol}; markets: ${markets.map((m) => m.symbol).join(", ")}`);
  }
  const market = MarketSpec.parse(listed);
  const book = (await get(`/v1/markets/${symbol}/book?depth=1`)) as
    | { bids?: { price: string }[]; asks?: { price: string }[] }
    | undefined;
  const bid = book?.bids?.[0]?.price;
  const ask = book?.asks?.[0]?.price;
  const mid = bid && ask ? midpoint(bid, ask) : bid ?? ask ?? listed.lastPrice ?? market.startPrice;
  return { market, mid };
}

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  expectPositionals(args, 0, "load --orders N --rate R --users U --symbol S");
  const orders = intOption(args, "orders", 1000, { max: 1_000_000 });
  const rate = intOption(args, "rate", 200, { max: 50_000 });
  const users = intOption(args, "users", 10, { max: 10_000 });
  const maxSeconds = intOption(args, "max-seconds", 60, { max: 3600 });
  const timeoutMs = intOption(args, "timeout", 5000, { min: 10, max: 600_000 });
  const maxInFlight = intOption(args, "concurrency", 64, { max: 10_000 });
  const seed = intOption(args, "seed", Math.floor(Math.random() * 2 ** 31), { min: 0, max: 2 ** 31 });
  const symbol = (stringOption(args, "symbol") ?? "BTC-USD").toUpperCase();
  if (!SymbolSchema.safeParse(symbol).success) {
    throw new UsageError(`--symbol must be BASE-QUOTE, e.g. BTC-USD, got "${symbol}"`);
  }
  const direct = flag(args, "direct");
  const gatewayUrl =
    (stringOption(args, "gateway-url") ?? Deno.env.get("KALENCY_GATEWAY_URL") ?? "http://127.0.0.1:8080")
      .replace(/\/+$/, "");
  const target = direct ? ctx.options.redisUrl : gatewayUrl;
  if (!isLoopbackUrl(target)) {
    throw new UsageError(
      `load runs against this machine only (loopback); ${
        direct ? "--redis-url" : "--gateway-url"
      } is ${target}`,
    );
  }
  const { out } = ctx;
  const deadline = Date.now() + maxSeconds * 1000;
  const runId = crypto.randomUUID().slice(0, 6);
  const stats = new LoadStats();
  const options: TargetOptions = { symbol, runId, timeoutMs, record: (o) => stats.add(o) };

  await using redis = direct ? await openRedis(ctx) : undefined;
  let reader: RedisClient | undefined;
  let t: Target;
  if (direct) {
    reader = await connectRedis(ctx.options.redisUrl, { reconnect: false });
    t = new DirectTarget(redis!, reader, ctx.options.prefix, options);
  } else {
    t = new GatewayTarget(gatewayUrl, options, maxInFlight);
  }
  let midReading: Promise<void> | undefined;
  try {
    const readMarket = () =>
      direct
        ? marketAndMid(redis, ctx.options.prefix, symbol)
        : marketAndMidFromGateway(gatewayUrl, symbol, ctx.signal);
    const first = await readMarket();
    const market = first.market;
    // the mid is read again every MID_REFRESH_MS while orders go out: they follow the market
    let mid = first.mid;
    let midReadAt = performance.now();
    const refreshMid = () => {
      if (midReading || performance.now() - midReadAt < MID_REFRESH_MS) return;
      midReading = readMarket()
        .then((m) => void (mid = m.mid))
        .catch(() => {}) // a failed read keeps the last mid; the next one may work
        .finally(() => {
          midReading = undefined;
          midReadAt = performance.now();
        });
    };
    const plan = planOrders(orders, seed);
    out.progress(`signing up ${users} users…`);
    await t.setup(users, deadline, ctx.signal);
    const start = performance.now();
    let lastProgress = 0;
    while (!ctx.signal.aborted && Date.now() < deadline) {
      const due = Math.min(orders, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      refreshMid();
      while (stats.sent < due && !(t instanceof GatewayTarget && t.full)) {
        t.submit(priceOrder(market, mid, plan[stats.sent]), stats.sent % users);
        stats.sent++;
      }
      await t.pump();
      if (stats.sent >= orders && t.inFlight() === 0) break;
      const now = performance.now();
      if (now - lastProgress > 200) {
        lastProgress = now;
        const sorted = [...stats.latencies].sort((a, b) => a - b);
        out.progress(
          `sent ${stats.sent}/${orders}  acked ${stats.acked}  rejected ${
            stats.answered - stats.acked
          }  in flight ${t.inFlight()}  p50 ${formatMs(percentile(sorted, 50))}`,
        );
      }
      if (t instanceof GatewayTarget || stats.sent >= due) await sleep(direct ? 1 : 5);
    }
    const elapsed = performance.now() - start;
    out.endProgress();
    const summary = stats.summary(elapsed, t.mode, t.inFlight());
    const interrupted = ctx.signal.aborted;
    const notSent = orders - summary.sent;
    const lines = [
      ...formatSummary(summary, out.style),
      ...summaryNotes(summary, orders, maxSeconds, notSent, interrupted).map((n) =>
        out.style.yellow(`  note: ${n}`)
      ),
    ];
    out.record({ kind: "load", seed, symbol, users, notSent, interrupted, ...summary }, lines);
    return summary.sent > 0 && summary.acked === 0 ? 1 : 0;
  } finally {
    await t.close();
    await midReading;
    await reader?.close().catch(() => {});
  }
}

export const loadCommand: Command = {
  name: "load",
  summary: "place a bounded stream of orders and report acks, rejections and ack latency",
  usage: [
    "load [--orders N] [--rate R] [--users U] [--symbol S] [--max-seconds S] [--gateway-url URL]",
    "load --direct [--orders N] [--rate R] [--users U] [--symbol S]",
  ],
  description: [
    "Signs up U users (through the gateway's /v1/auth/signup; with --direct, users load-<run>-<n> opened",
    "with openAccount commands), then places N limit orders at R orders per second around the mid price",
    "(read again every 2 s, so the orders follow the market): most rest near the spread, about 40 % cross",
    "it as IOC so trades happen. Access tokens are renewed before they expire. Through the gateway the ack",
    "latency is the HTTP round trip of POST /v1/orders; with --direct it is the time from XADD to the engine's",
    "reply. Runs only against loopback addresses and stops after N orders or --max-seconds, whichever comes",
    "first. Prints a live progress line on a terminal, then a summary (rejections grouped by reason).",
  ].join("\n"),
  examples: ["load --orders 2000 --rate 500 --users 20", "load --direct --orders 10000 --rate 5000 --json"],
  options: {
    orders: { type: "string", value: "N", description: "orders to place (default 1000, at most 1000000)" },
    rate: { type: "string", value: "R", description: "orders per second (default 200)" },
    users: { type: "string", value: "U", description: "users to spread the orders over (default 10)" },
    symbol: { type: "string", value: "S", description: "market (default BTC-USD)" },
    direct: {
      type: "boolean",
      description: "write commands to stream:orders instead of calling the gateway",
    },
    "gateway-url": {
      type: "string",
      value: "URL",
      description: "gateway (default $KALENCY_GATEWAY_URL or http://127.0.0.1:8080)",
    },
    "max-seconds": { type: "string", value: "S", description: "stop after this many seconds (default 60)" },
    timeout: {
      type: "string",
      value: "MS",
      description: "an order without an answer after this long fails (default 5000)",
    },
    concurrency: { type: "string", value: "N", description: "REST requests in flight at most (default 64)" },
    seed: { type: "string", value: "N", description: "seed of the order plan (default random)" },
  },
  run,
};
