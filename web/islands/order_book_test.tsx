import assert from "node:assert/strict";
import { TEST_MARKET } from "../test_market.ts";
import { render } from "preact-render-to-string";
import OrderBook from "./OrderBook.tsx";
import type { MarketInfo } from "../utils/market.ts";

const market: MarketInfo = { ...TEST_MARKET, makerFeeBps: 0, takerFeeBps: 0 };

const html = render(
  <OrderBook
    gatewayUrl="http://gw.test"
    market={market}
    depth={16}
    book={{
      symbol: "BTC-USD",
      seq: 1,
      bids: [{ price: "65000", qty: "0.5" }, { price: "64990", qty: "1" }],
      asks: [{ price: "65016.68", qty: "0.2" }, { price: "65020", qty: "1" }],
    }}
  />,
);

Deno.test("the spread reads as a number and its percentage, with a space between", () => {
  const spread = html.match(/data-testid="spread">(.*?)<\/div>/)?.[1].replace(/<[^>]+>/g, "");
  assert.equal(spread, "Spread16.68 (0.025%)");
});

Deno.test("the book is one Tab stop: only the best ask's button is in the tab order", () => {
  const stops = [...html.matchAll(/<button[^>]*tabindex="(-?\d)"/g)].map((m) => m[1]);
  assert.equal(stops.length, 4);
  assert.deepEqual(stops.filter((t) => t === "0"), ["0"]);
  assert.match(html, /data-key="ask:65016.68" tabindex="0"/);
});
