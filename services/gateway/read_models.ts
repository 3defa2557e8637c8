/**
 * Reads of the engine's (and candle aggregator's) read models in Redis. The engine writes them in
 * the same MULTI as its outputs, through the contracts, so they are parsed as trusted JSON here.
 * Hot public reads go through a short in-memory cache with single-flight loading.
 * @module
 */
import {
  type BookSnapshot,
  type Execution,
  keys,
  type MarketSpec,
  type OrderAck,
  type Ticker,
  type WalletView,
} from "@lib/contracts";
import { TtlCache } from "@lib/cache";
import type { RedisClient } from "@lib/redis";

/** The simulator's published status (`keys.simStatus`; market-sim's `SimStatus` is the full shape). */
export interface SimStatus {
  running: boolean;
  symbols?: { symbol: string; paused: boolean; price?: string; regime?: string }[];
  profile?: string;
  bots?: unknown;
  /** Id of the last control stream entry the simulator applied. */
  lastControlId?: string;
  ts?: number;
}

function parse<T>(text: string | null | undefined): T | undefined {
  return text ? JSON.parse(text) as T : undefined;
}

/** Typed access to the read models. */
export class ReadModels {
  #cache = new TtlCache({ ttlMs: 0, maxEntries: 10_000, now: () => performance.now() });
  #marketsChanged: (() => void)[] = [];
  constructor(
    readonly redis: RedisClient,
    readonly prefix: string,
    /** TTL of cached public reads; 0 disables. */
    readonly cacheMs: number,
  ) {}

  /** Loads through the cache (for public data only). */
  cached<T>(key: string, load: () => Promise<T>, ttlMs = this.cacheMs): Promise<T> {
    return this.#cache.get(key, load, ttlMs);
  }

  /** Forgets cached market specs (after an admin change), and tells the listeners. */
  invalidateMarkets(): void {
    this.#cache.delete("markets");
    for (const cached of ["v:markets", "v:tickers"]) this.#cache.delete(cached);
    for (const listener of this.#marketsChanged) listener();
  }

  /** Calls `listener` whenever the markets change (an HTTP response cache forgets them then). */
  onMarketsChanged(listener: () => void): void {
    this.#marketsChanged.push(listener);
  }

  /** Every market, sorted by symbol (cached for at least a second). */
  markets(): Promise<MarketSpec[]> {
    return this.cached("markets", async () => {
      const all = await this.redis.hGetAll(keys.markets(this.prefix));
      return Object.values(all).map((v) => JSON.parse(String(v)) as MarketSpec)
        .sort((a, b) => a.symbol.localeCompare(b.symbol));
    }, Math.max(this.cacheMs, 1000));
  }

  async market(symbol: string): Promise<MarketSpec | undefined> {
    return (await this.markets()).find((m) => m.symbol === symbol);
  }

  async book(symbol: string): Promise<BookSnapshot | undefined> {
    return parse(await this.redis.get(keys.book(this.prefix, symbol)));
  }

  /** The newest `limit` trades of a symbol, oldest first. */
  async trades(symbol: string, limit: number): Promise<Execution[]> {
    const list = await this.redis.lRange(keys.trades(this.prefix, symbol), 0, limit - 1);
    return list.map((t) => JSON.parse(t) as Execution).reverse();
  }

  async ticker(symbol: string): Promise<Ticker | undefined> {
    return parse(await this.redis.get(keys.ticker(this.prefix, symbol)));
  }

  async tickers(symbols: string[]): Promise<(Ticker | undefined)[]> {
    if (symbols.length === 0) return [];
    const all = await this.redis.mGet(symbols.map((s) => keys.ticker(this.prefix, s)));
    return all.map((t) => parse<Ticker>(t));
  }

  async wallet(userId: string): Promise<WalletView | undefined> {
    return parse(await this.redis.hGet(keys.wallets(this.prefix), userId));
  }

  async order(orderId: string): Promise<OrderAck | undefined> {
    return parse(await this.redis.get(keys.order(this.prefix, orderId)));
  }

  async orders(ids: string[]): Promise<OrderAck[]> {
    if (ids.length === 0) return [];
    const all = await this.redis.mGet(ids.map((id) => keys.order(this.prefix, id)));
    return all.flatMap((t) => t ? [JSON.parse(t) as OrderAck] : []);
  }

  /** A user's open orders, oldest first. */
  async openOrders(userId: string): Promise<OrderAck[]> {
    const ids = await this.redis.zRange(keys.openOrders(this.prefix, userId), 0, -1);
    return await this.orders(ids);
  }

  /**
   * A page of a user's order history, newest first: orders created strictly before `beforeMs`
   * (or any time), at most `limit`. Returns the ids with their scores.
   */
  async orderHistoryIds(
    userId: string,
    options: { limit: number; before?: { ms: number; orderId: string } },
  ): Promise<{ id: string; score: number }[]> {
    const key = keys.orderHistory(this.prefix, userId);
    const max = options.before ? options.before.ms : "+inf";
    // orders with the same score as the cursor come back too; the caller skips those already seen
    const items = await this.redis.zRangeWithScores(key, max, "-inf", {
      BY: "SCORE",
      REV: true,
      LIMIT: { offset: 0, count: options.limit + 50 },
    });
    const out = items.map((i) => ({ id: i.value, score: i.score }));
    const b = options.before;
    return b ? out.filter((i) => i.score < b.ms || i.id < b.orderId) : out;
  }

  /** A user's recent fills (newest first), at most `limit`. */
  async fills(userId: string, limit: number): Promise<Execution[]> {
    const list = await this.redis.lRange(keys.userTrades(this.prefix, userId), 0, limit - 1);
    return list.map((t) => JSON.parse(t) as Execution);
  }

  async simStatus(): Promise<SimStatus | undefined> {
    return parse(await this.redis.get(keys.simStatus(this.prefix)));
  }

  /** The engine's last applied command id, if any. */
  async checkpoint(): Promise<string | undefined> {
    return (await this.redis.get(keys.checkpoint(this.prefix))) ?? undefined;
  }
}
