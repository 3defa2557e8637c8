import assert from "node:assert/strict";
import { TEST_MARKET } from "./test_market.ts";
import { CachedGatewayClient } from "./market_data_cache.ts";

Deno.test("CachedGatewayClient: page views share the public reads and get their own copies", async () => {
  const requests: string[] = [];
  const markets = [TEST_MARKET];
  const fetch = (input: string | URL | Request) => {
    const url = String(input);
    requests.push(new URL(url).pathname + new URL(url).search);
    if (url.endsWith("/v1/markets")) return Promise.resolve(Response.json(markets));
    if (url.includes("/book")) {
      return Promise.resolve(Response.json({ symbol: "BTC-USD", bids: [], asks: [] }));
    }
    if (url.endsWith("/v1/me")) {
      return Promise.resolve(Response.json({ userId: "u1", username: "ann", role: "user" }));
    }
    return Promise.resolve(Response.json([]));
  };
  const gw = new CachedGatewayClient({
    baseUrl: "http://gateway.test",
    fetch: fetch as typeof globalThis.fetch,
  });

  const views = await Promise.all(Array.from({ length: 100 }, () =>
    Promise.all([
      gw.markets(),
      gw.tickers(),
      gw.book("BTC-USD", 16),
      gw.trades("BTC-USD", 50),
      gw.candles("BTC-USD", { tf: "1m", limit: 500 }),
    ])));
  assert.deepEqual(requests.sort(), [
    "/v1/markets",
    "/v1/markets/BTC-USD/book?depth=16",
    "/v1/markets/BTC-USD/candles?tf=1m&limit=500",
    "/v1/markets/BTC-USD/trades?limit=50",
    "/v1/tickers",
  ]);
  // distinct reads are distinct entries
  await gw.book("BTC-USD", 20);
  await gw.candles("BTC-USD", { tf: "5m", limit: 48 });
  assert.equal(requests.length, 7);

  // a page that changes its answer does not change another page's
  views[0][0][0].status = "HALTED";
  assert.equal(views[1][0][0].status, "TRADING");
  assert.equal((await gw.markets())[0].status, "TRADING");

  // user data is never cached
  await gw.me("token");
  await gw.me("token");
  assert.equal(requests.filter((r) => r === "/v1/me").length, 2);
});
