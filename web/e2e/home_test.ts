import assert from "node:assert/strict";
import { waitFor } from "@lib/testing";
import { startSystem } from "./system.ts";

async function signup(gatewayUrl: string, username: string): Promise<string> {
  const res = await fetch(`${gatewayUrl}/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "password-123" }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).accessToken;
}

async function order(gatewayUrl: string, token: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${gatewayUrl}/v1/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201, await res.clone().text());
  await res.body?.cancel();
}

Deno.test({
  name: "home page (real gateway) renders every symbol's last price inside a hydrated island",
  async fn() {
    await using sys = await startSystem({
      services: ["matching-engine", "candle-aggregator", "gateway", "web"],
    });
    const maker = await signup(sys.gatewayUrl, "home-maker");
    const taker = await signup(sys.gatewayUrl, "home-taker");
    await order(sys.gatewayUrl, maker, {
      symbol: "BTC-USD",
      side: "BUY",
      type: "LIMIT",
      price: "64321.5",
      qty: "0.01",
    });
    await order(sys.gatewayUrl, taker, { symbol: "BTC-USD", side: "SELL", type: "MARKET", qty: "0.01" });
    await order(sys.gatewayUrl, maker, {
      symbol: "ETH-USD",
      side: "SELL",
      type: "LIMIT",
      price: "3210",
      qty: "0.5",
    });
    await order(sys.gatewayUrl, taker, { symbol: "ETH-USD", side: "BUY", type: "MARKET", qty: "0.5" });

    const markets: { symbol: string; lastPrice: string | null }[] = await waitFor(async () => {
      const list = await (await fetch(`${sys.gatewayUrl}/v1/markets`)).json();
      return list.filter((m: { lastPrice: string | null }) => m.lastPrice).length === 2 && list;
    }, { timeoutMs: 15_000, what: "the tickers of both trades" });

    const res = await fetch(`${sys.webUrl}/`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<div data-island="MarketsTable" data-props="/);
    assert.match(
      html,
      /<script type="module" src="\/static\/islands\/MarketsTable-[A-Z0-9]{8}\.js"><\/script>/,
    );
    const row = (symbol: string) =>
      html.match(new RegExp(`data-symbol="${symbol}">.*?data-testid="last">([^<]*)<`))?.[1];
    assert.equal(row("BTC-USD"), "64,321.50");
    assert.equal(row("ETH-USD"), "3,210.00");
    for (const m of markets) assert.ok(row(m.symbol) !== undefined, `${m.symbol} has a row`);
    assert.equal(row("BTC-ETH"), "—", "a market without trades shows a dash");
  },
});
