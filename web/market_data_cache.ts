/**
 * A short-lived, single-flight cache for the public market data the server reads to render pages.
 *
 * Every page view's gateway reads come from this server's one address, so they all count against
 * one per-address rate limit at the gateway. With the cache, concurrent page views share one
 * request per distinct read, and the answer serves every page view for `MARKET_DATA_TTL_MS`: N page
 * views a second cost at most about one gateway call a second per distinct read. Only public market
 * data goes through it (markets, tickers, book, trades, candles); user data never does, and islands
 * in the browser call the gateway directly, so live data is unaffected.
 * @module
 */
import {
  type Book,
  type Candle,
  type CandleQuery,
  GatewayClient,
  type GatewayClientOptions,
  type Market,
  type Ticker,
  type Trade,
} from "./gateway_client.ts";
import { TtlCache, type TtlCacheOptions } from "@lib/cache";

/** How long a market-data answer serves page views. */
export const MARKET_DATA_TTL_MS = 1000;
/** Most distinct reads kept; the oldest is dropped beyond it. */
export const MARKET_DATA_MAX_ENTRIES = 1000;

/**
 * The server's gateway client, with the public market-data reads cached (see the module). Each
 * caller gets its own copy of a cached answer, so a page that changes what it got cannot change
 * another page's.
 */
export class CachedGatewayClient extends GatewayClient {
  #cache: TtlCache;

  constructor(
    options: GatewayClientOptions,
    cache: TtlCacheOptions = { ttlMs: MARKET_DATA_TTL_MS, maxEntries: MARKET_DATA_MAX_ENTRIES },
  ) {
    super(options);
    this.#cache = new TtlCache(cache);
  }

  async #cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    return structuredClone(await this.#cache.get(key, load));
  }

  override markets(): Promise<Market[]> {
    return this.#cached("markets", () => super.markets());
  }
  override tickers(): Promise<Ticker[]> {
    return this.#cached("tickers", () => super.tickers());
  }
  override ticker(symbol: string): Promise<Ticker> {
    return this.#cached(`ticker ${symbol}`, () => super.ticker(symbol));
  }
  override book(symbol: string, depth = 20): Promise<Book> {
    return this.#cached(`book ${symbol} ${depth}`, () => super.book(symbol, depth));
  }
  override trades(symbol: string, limit = 50): Promise<Trade[]> {
    return this.#cached(`trades ${symbol} ${limit}`, () => super.trades(symbol, limit));
  }
  override candles(symbol: string, q: CandleQuery): Promise<Candle[]> {
    const key = `candles ${symbol} ${q.tf} ${q.from ?? ""} ${q.to ?? ""} ${q.limit ?? ""}`;
    return this.#cached(key, () => super.candles(symbol, q));
  }
}
