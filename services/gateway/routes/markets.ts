import type { Context } from "hono";
import type { MarketSpec } from "@lib/contracts";
import type { GatewayDeps, GatewayEnv, RouteFn } from "../app.ts";
import { DEFAULT_CANDLE_LIMIT, MAX_CANDLE_LIMIT } from "@lib/candles";
import { ApiError, unknownSymbol } from "../errors.ts";
import {
  BookQuery,
  BookResponse,
  CandleList,
  CandlesQuery,
  MarketList,
  MarketView,
  SymbolParams,
  TickerList,
  TradeList,
  TradesQuery,
} from "../schemas.ts";
import { Ticker } from "@lib/contracts";

const JSON_HEADERS = { "content-type": "application/json" };

function json(c: Context<GatewayEnv>, text: string): Response {
  return c.body(text, 200, JSON_HEADERS);
}

/**
 * Refuses a symbol (a filter, or an admin control's target) that names no market: 404, listing the
 * markets, so a typo does not look like an empty list or a change that did nothing. Undefined
 * passes; while the engine has listed no market yet, every symbol passes.
 */
export async function checkListedSymbol(deps: GatewayDeps, symbol: string | undefined): Promise<void> {
  if (symbol === undefined) return;
  const markets = await deps.reads.markets();
  if (markets.length > 0 && !markets.some((m) => m.symbol === symbol)) throw unknownSymbol(symbol, markets);
}

/** Public market data: markets, book, trades, candles, tickers. */
export function marketRoutes(route: RouteFn, deps: GatewayDeps): void {
  const { reads } = deps;

  async function listed(symbol: string): Promise<MarketSpec> {
    const markets = await reads.markets();
    const m = markets.find((x) => x.symbol === symbol);
    if (!m) throw unknownSymbol(symbol, markets);
    return m;
  }

  async function view(m: MarketSpec) {
    const t = await reads.ticker(m.symbol);
    return { ...m, lastPrice: t?.last ?? null, ticker: t ?? null };
  }

  route({
    method: "get",
    path: "/v1/markets",
    summary: "Every market with its filters (tick, step, minimums), status and last price",
    tags: ["markets"],
    auth: "none",
    cache: true,
    responses: { 200: { description: "Markets sorted by symbol", schema: MarketList } },
  }, async (c) =>
    json(
      c,
      await reads.cached("v:markets", async () => {
        const markets = await reads.markets();
        const tickers = await reads.tickers(markets.map((m) => m.symbol));
        return JSON.stringify(
          markets.map((m, i) => ({ ...m, lastPrice: tickers[i]?.last ?? null, ticker: tickers[i] ?? null })),
        );
      }),
    ));

  route({
    method: "get",
    path: "/v1/tickers",
    summary: "24-hour statistics of every market",
    tags: ["markets"],
    auth: "none",
    cache: true,
    responses: { 200: { description: "Tickers of the markets that traded", schema: TickerList } },
  }, async (c) =>
    json(
      c,
      await reads.cached("v:tickers", async () => {
        const markets = await reads.markets();
        const tickers = await reads.tickers(markets.map((m) => m.symbol));
        return JSON.stringify(tickers.filter((t) => t !== undefined));
      }),
    ));

  route({
    method: "get",
    path: "/v1/markets/:symbol",
    summary: "One market",
    tags: ["markets"],
    auth: "none",
    cache: true,
    params: SymbolParams,
    responses: { 200: { description: "The market", schema: MarketView } },
  }, async (c, { params }) => c.json(await view(await listed(params.symbol))));

  route({
    method: "get",
    path: "/v1/markets/:symbol/book",
    summary: "Order book: best levels first",
    tags: ["markets"],
    auth: "none",
    cache: true,
    params: SymbolParams,
    query: BookQuery,
    responses: { 200: { description: "Levels (price, qty, orders) per side", schema: BookResponse } },
  }, async (c, { params, query }) => {
    await listed(params.symbol);
    return json(
      c,
      await reads.cached(`v:book:${params.symbol}:${query.depth}`, async () => {
        const b = await reads.book(params.symbol);
        return JSON.stringify({
          symbol: params.symbol,
          seq: b?.seq ?? 0,
          bids: (b?.bids ?? []).slice(0, query.depth),
          asks: (b?.asks ?? []).slice(0, query.depth),
          ts: b?.ts ?? Date.now(),
        });
      }),
    );
  });

  route({
    method: "get",
    path: "/v1/markets/:symbol/trades",
    summary: "Recent trades: the newest `limit`, oldest first",
    tags: ["markets"],
    auth: "none",
    cache: true,
    params: SymbolParams,
    query: TradesQuery,
    responses: { 200: { description: "Executions", schema: TradeList } },
  }, async (c, { params, query }) => {
    await listed(params.symbol);
    return json(
      c,
      await reads.cached(
        `v:trades:${params.symbol}:${query.limit}`,
        async () => JSON.stringify(await reads.trades(params.symbol, query.limit)),
      ),
    );
  });

  route({
    method: "get",
    path: "/v1/markets/:symbol/ticker",
    summary: "24-hour statistics of one market",
    tags: ["markets"],
    auth: "none",
    cache: true,
    params: SymbolParams,
    responses: { 200: { description: "Ticker", schema: Ticker } },
  }, async (c, { params }) => {
    await listed(params.symbol);
    const t = await reads.cached(`v:ticker:${params.symbol}`, () => reads.ticker(params.symbol));
    if (!t) {
      throw new ApiError(
        404,
        "NO_TICKER",
        `${params.symbol} has no ticker yet (it has not traded)`,
      );
    }
    return c.json(t);
  });

  route({
    method: "get",
    path: "/v1/markets/:symbol/candles",
    summary: "OHLCV candles ascending by bucket start",
    description: "tf: 1s, 5s, 1m (default), 5m, 1h, 1d, any case. from/to: RFC 3339 or epoch ms, inclusive " +
      "on the bucket start. With `from`, the first `limit` candles from there (up to `to`); without " +
      "`from`, the last `limit` up to `to` (or up to now). limit: at most " +
      `${MAX_CANDLE_LIMIT}; ${DEFAULT_CANDLE_LIMIT} by default, or ${MAX_CANDLE_LIMIT} when from or to ` +
      "is given. Read on from the last candle's openTime. An empty parameter counts as absent.",
    tags: ["markets"],
    auth: "none",
    cache: true,
    params: SymbolParams,
    query: CandlesQuery,
    responses: { 200: { description: "Candles", schema: CandleList } },
  }, async (c, { params, query }) => {
    await listed(params.symbol);
    if (!deps.candles) {
      throw new ApiError(503, "CANDLES_UNAVAILABLE", "Candle reads are not available in this gateway build");
    }
    if (query.from !== undefined && query.to !== undefined && query.from > query.to) {
      throw new ApiError(400, "VALIDATION_FAILED", "from must not be after to", { field: "from" });
    }
    const candles = await deps.candles({
      symbol: params.symbol,
      tf: query.tf ?? "1m",
      from: query.from,
      to: query.to,
      // a range given at either end is wanted whole, as the original answered it (up to the maximum)
      limit: query.limit ??
        (query.from !== undefined || query.to !== undefined ? MAX_CANDLE_LIMIT : undefined),
      fill: query.fill === undefined ? undefined : query.fill === "true",
      source: query.source ?? "trade",
    });
    return c.json(candles.map((k) => ({ ...k, bucketStart: rfc3339Seconds(k.openTime) })));
  });
}

/** RFC 3339 in UTC as the original wrote a bucket start ("2026-01-02T04:00:00Z"): no fraction when whole. */
export function rfc3339Seconds(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
}
