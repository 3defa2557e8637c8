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
  // 16.68 / 65000 = 0.02566…%: rounded, not cut
  assert.equal(spread, "Spread16.68 (0.026%)");
});

Deno.test("the book is one Tab stop: only the best ask's button is in the tab order", () => {
  const stops = [...html.matchAll(/<button[^>]*tabindex="(-?\d)"/g)].map((m) => m[1]);
  assert.equal(stops.length, 4);
  assert.deepEqual(stops.filter((t) => t === "0"), ["0"]);
  assert.match(html, /data-key="ask:65016.68" tabindex="0"/);
});

Deno.test("a level's accessible name is its visible figures with words, the key hint a description", () => {
  const button = html.match(/<button[^>]*data-key="ask:65016.68"[^>]*>(.*?)<\/button>/);
  assert.ok(button);
  assert.doesNotMatch(button[0], /aria-label=/, "no label that hides the visible text");
  const name = button[1].replace(/<[^>]+>/g, "").replace(/\s+/g, " ").trim();
  // (the figures are grid cells: a browser puts a space between them)
  assert.match(name, /^65016\.68 USD ask, ?0\.2000 BTC, ?sum 0\.2000$/);
  // a phone's width hides the sum: what is left ends with the quantity, not a comma
  const phone = button[1].replace(/<span class="num muted hide-xs">.*?<\/span>\s*[^<]*<\/span>/, "")
    .replace(/<[^>]+>/g, "").replace(/\s+/g, " ").trim();
  assert.match(phone, /^65016\.68 USD ask, ?0\.2000 BTC$/);
  assert.match(button[0], /aria-describedby="book-keys"/);
  assert.match(html, /id="book-keys"[^>]*>\s*Arrow keys move between the prices/);
});
