import assert from "node:assert/strict";
import { render } from "preact-render-to-string";
import { TEST_MARKET } from "../test_market.ts";
import type { MarketInfo } from "../utils/market.ts";
import MarketHeader from "./MarketHeader.tsx";

const market: MarketInfo = { ...TEST_MARKET, makerFeeBps: 0, takerFeeBps: 0 };

function stat(html: string, name: string): string | undefined {
  const m = html.match(new RegExp(`<dt>${name}</dt><dd class="num">([^<]*)</dd>`));
  return m?.[1];
}

Deno.test("the header's 24h low and high never leave out the last price shown", () => {
  // trades come between tickers: the last trade went below the low of the last ticker
  const below = render(
    <MarketHeader
      gatewayUrl="http://gw.test"
      market={market}
      ticker={{ symbol: "BTC-USD", last: "64725.12", high24h: "65024.84", low24h: "64735.65" }}
    />,
  );
  assert.equal(stat(below, "24h low"), "64,725.12");
  assert.equal(stat(below, "24h high"), "65,024.84");
  const above = render(
    <MarketHeader
      gatewayUrl="http://gw.test"
      market={market}
      ticker={{ symbol: "BTC-USD", last: "65100", high24h: "65024.84", low24h: "64735.65" }}
    />,
  );
  assert.equal(stat(above, "24h high"), "65,100.00");
  assert.equal(stat(above, "24h low"), "64,735.65");
});

Deno.test("the header's 24h change follows the live last price, not only the last ticker", () => {
  const html = render(
    <MarketHeader
      gatewayUrl="http://gw.test"
      market={market}
      ticker={{ symbol: "BTC-USD", last: "65650", open24h: "65000", change24h: "100", changePct24h: "0.15" }}
    />,
  );
  assert.match(
    html,
    /<dt>24h change<\/dt><dd><span class="num">650\.00<\/span> <span class="num buy">\+1\.00%/,
  );
});
