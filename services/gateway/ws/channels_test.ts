import assert from "node:assert/strict";
import { type Identity, resolveChannel } from "./channels.ts";

const alice: Identity = { userId: "alice", role: "user" };
const root: Identity = { userId: "root", role: "admin" };

Deno.test("resolveChannel() normalises public channel names", async (t) => {
  const cases: [raw: string, name: string][] = [
    ["book.BTC-USD", "book.BTC-USD"],
    ["book.btc-usd", "book.BTC-USD"],
    ["TRADES.eth-usd", "trades.ETH-USD"],
    ["ticker.BTC-ETH", "ticker.BTC-ETH"],
    ["ticks.btc-usd", "ticks.BTC-USD"],
    ["candles.BTC-USD.1m", "candles.BTC-USD.1m"],
    ["candles.btc-usd.1H", "candles.BTC-USD.1h"],
    ["candles.BTC-USD.1m.trade", "candles.BTC-USD.1m"],
    ["candles.BTC-USD.1m.INDEX", "candles.BTC-USD.1m.index"],
  ];
  for (const [raw, name] of cases) {
    await t.step(raw, () => {
      const r = resolveChannel(raw, undefined);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.channel.name, name);
    });
  }
});

Deno.test("resolveChannel() refuses malformed names with UNKNOWN_CHANNEL and the reason", async (t) => {
  const cases: [raw: string, reason: RegExp][] = [
    ["", /non-empty/],
    ["book", /BASE-QUOTE/],
    ["book.BTCUSD", /BASE-QUOTE/],
    ["candles.BTC-USD", /timeframe must be one of/],
    ["candles.BTC-USD.2m", /1s, 5s, 1m, 5m, 1h, 1d/],
    ["candles.BTC-USD.1m.mid", /source after the timeframe may only be index/],
    ["candles.BTC-USD.1m.index.x", /source after the timeframe may only be index/],
    ["depth.BTC-USD", /unknown channel type "depth"/],
    ["orders.a b", /user id/],
  ];
  for (const [raw, reason] of cases) {
    await t.step(JSON.stringify(raw), () => {
      const r = resolveChannel(raw, alice);
      assert.ok(!r.ok);
      assert.equal(r.code, "UNKNOWN_CHANNEL");
      assert.match(r.message, reason);
    });
  }
});

Deno.test("resolveChannel() keeps private channels to their user (and admins)", async (t) => {
  const cases: [raw: string, who: Identity | undefined, expected: string][] = [
    ["orders", alice, "orders.alice"],
    ["wallet", alice, "wallet.alice"],
    ["orders.alice", alice, "orders.alice"],
    ["orders.bob", alice, "FORBIDDEN"],
    ["wallet.bob", alice, "FORBIDDEN"],
    ["orders.Alice", alice, "FORBIDDEN"],
    ["orders", undefined, "AUTH_REQUIRED"],
    ["wallet.alice", undefined, "AUTH_REQUIRED"],
    ["orders.bob", root, "orders.bob"],
    ["wallet", root, "wallet.root"],
  ];
  for (const [raw, who, expected] of cases) {
    await t.step(`${raw} as ${who?.userId ?? "anonymous"}`, () => {
      const r = resolveChannel(raw, who);
      assert.equal(r.ok ? r.channel.name : r.code, expected);
    });
  }
});
