import assert from "node:assert/strict";
import { candleKeys } from "@lib/candles";
import { type Candle, keys, type Ticker } from "@lib/contracts";
import { sampleCandle } from "@lib/testing";
import { engineAvailable, gatewayFixture } from "../testing.ts";

Deno.test({
  name: "market data is public: markets, book, trades, ticker, tickers, candles",
  ignore: !engineAvailable(),
  async fn(t) {
    await using gw = await gatewayFixture({ engine: true });
    const a = await gw.signup();
    const b = await gw.signup();
    const order = (who: typeof a, side: string, price: string, qty: string) =>
      gw.call("POST", "/v1/orders", {
        headers: who.headers,
        body: { symbol: "BTC-USD", side, type: "LIMIT", price, qty },
      });
    for (const [p, q] of [["64000", "0.01"], ["63990", "0.02"], ["63980", "0.03"]]) {
      assert.equal((await order(a, "BUY", p, q)).status, 201);
    }
    for (const [p, q] of [["65000", "0.01"], ["65010", "0.5"]]) {
      assert.equal((await order(a, "SELL", p, q)).status, 201);
    }
    for (let i = 0; i < 3; i++) assert.equal((await order(b, "BUY", "65000", "0.002")).status, 201);

    await t.step("markets list with filters, status and last price", async () => {
      const r = await gw.call("GET", "/v1/markets");
      assert.equal(r.status, 200);
      const btc = r.json.find((m: { symbol: string }) => m.symbol === "BTC-USD");
      assert.equal(btc.tickSize, "0.01");
      assert.equal(btc.stepSize, "0.0001");
      assert.equal(btc.minNotional, "5");
      assert.equal(btc.status, "TRADING");
      assert.ok("lastPrice" in btc);
      const one = await gw.call("GET", "/v1/markets/btc-usd");
      assert.equal(one.json.symbol, "BTC-USD");
      const unknown = await gw.call("GET", "/v1/markets/NOPE-USD");
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.code, "UNKNOWN_SYMBOL");
      const bad = await gw.call("GET", "/v1/markets/not_a_symbol");
      assert.equal(bad.status, 400);
      assert.equal(bad.json.field, "symbol");
    });

    await t.step("book: best first, depth default 20, depth bounds", async () => {
      const r = await gw.call("GET", "/v1/markets/BTC-USD/book");
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.bids.map((l: { price: string }) => l.price), ["64000", "63990", "63980"]);
      assert.deepEqual(r.json.asks[0], { price: "65000", qty: "0.004", orders: 1 });
      const d1 = await gw.call("GET", "/v1/markets/BTC-USD/book?depth=1");
      assert.equal(d1.json.bids.length, 1);
      assert.equal(d1.json.asks.length, 1);
      const zero = await gw.call("GET", "/v1/markets/BTC-USD/book?depth=0");
      assert.equal(zero.status, 400);
      assert.match(zero.json.detail, /^depth: must be an integer from 1 to 500/);
      const nope = await gw.call("GET", "/v1/markets/NOPE-USD/book");
      assert.equal(nope.status, 404);
    });

    await t.step("trades: the newest `limit`, oldest first", async () => {
      const r = await gw.call("GET", "/v1/markets/BTC-USD/trades");
      assert.equal(r.status, 200);
      assert.equal(r.json.length, 3);
      const seqs = r.json.map((e: { seq: number }) => e.seq);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
      const two = await gw.call("GET", "/v1/markets/BTC-USD/trades?limit=2");
      assert.deepEqual(two.json.map((e: { seq: number }) => e.seq), seqs.slice(1));
      for (
        const f of ["tradeId", "makerOrderId", "makerUserId", "takerOrderId", "takerUserId", "price", "qty"]
      ) {
        assert.ok(two.json[0][f], f);
      }
      const bad = await gw.call("GET", "/v1/markets/BTC-USD/trades?limit=x");
      assert.equal(bad.status, 400);
      // only decimal digits: no hex, binary or exponent forms
      for (const limit of ["0x2", "0b10", "2e0", "2.0"]) {
        const r = await gw.call("GET", `/v1/markets/BTC-USD/trades?limit=${limit}`);
        assert.equal(r.status, 400, limit);
        assert.match(r.json.detail, new RegExp(`^limit: must be an integer from 1 to 1000, got "${limit}"`));
      }
    });

    await t.step("ticker and tickers (read model of the candle aggregator)", async () => {
      const none = await gw.call("GET", "/v1/markets/ETH-USD/ticker");
      assert.equal(none.status, 404);
      assert.equal(none.json.code, "NO_TICKER");
      const ticker: Ticker = {
        symbol: "BTC-USD",
        last: "65000",
        open24h: "64000",
        high24h: "65100",
        low24h: "63000",
        volume24h: "1.5",
        quoteVolume24h: "97000",
        change24h: "1000",
        changePct24h: "1.56",
        trades24h: 3,
        ts: Date.now(),
      };
      await gw.redis.set(keys.ticker(gw.prefix, "BTC-USD"), JSON.stringify(ticker));
      const one = await gw.call("GET", "/v1/markets/BTC-USD/ticker");
      assert.deepEqual(one.json, ticker);
      const all = await gw.call("GET", "/v1/tickers");
      assert.deepEqual(all.json, [ticker]);
      const markets = await gw.call("GET", "/v1/markets");
      assert.equal(markets.json.find((m: { symbol: string }) => m.symbol === "BTC-USD").lastPrice, "65000");
    });

    await t.step("candles: tf any case, from/to as RFC 3339 or epoch ms, bucketStart kept", async () => {
      const t0 = Date.UTC(2026, 0, 2, 3, 0, 0);
      const candle = (i: number): Candle => ({
        symbol: "BTC-USD",
        timeframe: "1h",
        openTime: t0 + i * 3_600_000,
        closeTime: t0 + (i + 1) * 3_600_000 - 1,
        open: "1",
        high: "2",
        low: "1",
        close: "2",
        volume: "3",
        quoteVolume: "6",
        trades: 2,
        closed: true,
        source: "trade",
      });
      const key = candleKeys.closed(gw.prefix, { symbol: "BTC-USD", timeframe: "1h", source: "trade" });
      for (const i of [0, 1, 2]) {
        await gw.redis.zAdd(key, { score: candle(i).openTime, value: JSON.stringify(candle(i)) });
      }
      const r = await gw.call(
        "GET",
        `/v1/markets/BTC-USD/candles?tf=1H&from=2026-01-02T04:00:00Z&to=${t0 + 2 * 3_600_000}&fill=false`,
      );
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.map((k: { bucketStart: string }) => k.bucketStart), [
        "2026-01-02T04:00:00Z",
        "2026-01-02T05:00:00Z",
      ]);
      assert.equal(r.json[0].open, "1");
      const badTf = await gw.call("GET", "/v1/markets/BTC-USD/candles?tf=2m");
      assert.equal(badTf.status, 400);
      assert.equal(badTf.json.field, "tf");
      const badFrom = await gw.call("GET", "/v1/markets/BTC-USD/candles?from=yesterday");
      assert.equal(badFrom.status, 400);
      assert.equal(badFrom.json.field, "from");
      // Date.parse would roll these over into the next month or day
      const local = await gw.call("GET", "/v1/markets/BTC-USD/candles?from=2026-01-02T03:04:05");
      assert.equal(local.status, 400, "without an offset the time would be the server's local time");
      assert.match(local.json.detail, /from: needs a time zone: end it with Z for UTC or an offset/);
      for (const zone of ["%2B02:00", "%2B0200", "-05:30", "z"]) {
        const offset = await gw.call("GET", `/v1/markets/BTC-USD/candles?from=2026-01-02T03:04:05${zone}`);
        assert.equal(offset.status, 200, `${zone}: ${offset.text}`);
      }
      for (const day of ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-02T24:00:00Z"]) {
        const impossible = await gw.call("GET", `/v1/markets/BTC-USD/candles?to=${day}`);
        assert.equal(impossible.status, 400, day);
        assert.equal(impossible.json.field, "to");
      }
      const leap = await gw.call("GET", "/v1/markets/BTC-USD/candles?tf=1h&from=2028-02-29T00:00:00%2B02:00");
      assert.equal(leap.status, 200, leap.text);
    });

    await t.step("candles: a range given at either end comes whole, beyond the default limit", async () => {
      const to = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
      const from = to - 1439 * 60_000; // a day of minutes, the original UI's widest range
      // one trade at `from`: the buckets after it are filled flat up to now
      const first = sampleCandle({ openTime: from });
      const key = candleKeys.closed(gw.prefix, { symbol: "BTC-USD", timeframe: "1m", source: "trade" });
      await gw.redis.zAdd(key, { score: from, value: JSON.stringify(first) });
      // empty parameters count as absent, as the original read them
      const empty = await gw.call("GET", "/v1/markets/BTC-USD/candles?tf=&from=&to=&limit=&fill=&source=");
      assert.equal(empty.status, 200, empty.text);
      assert.equal(empty.json.length, 500, "the default limit of 1m candles up to now");
      assert.equal(empty.json[1].openTime - empty.json[0].openTime, 60_000, "the default tf");
      const day = await gw.call("GET", `/v1/markets/BTC-USD/candles?tf=1m&from=${from}&to=${to}`);
      assert.equal(day.status, 200, day.text);
      assert.equal(day.json.length, 1440);
      assert.deepEqual([day.json[0].openTime, day.json.at(-1).openTime], [from, to]);
      const capped = await gw.call("GET", `/v1/markets/BTC-USD/candles?tf=1m&from=${from}&to=${to}&limit=10`);
      assert.equal(capped.json.length, 10, "an explicit limit still counts from `from`");
      // `from` alone: everything since, up to now (the original's "the last day" request)
      const since = await gw.call("GET", `/v1/markets/BTC-USD/candles?tf=1m&from=${from}`);
      assert.equal(since.status, 200, since.text);
      assert.equal(since.json[0].openTime, from);
      assert.ok(since.json.at(-1).openTime >= to, "reaches the newest minutes");
      assert.ok(since.json.length >= 1440, `${since.json.length} candles`);
      // `to` alone: everything up to it, not only the default 500
      const until = await gw.call("GET", `/v1/markets/BTC-USD/candles?tf=1m&to=${to}`);
      assert.equal(until.json.length, 1440);
      assert.equal(until.json.at(-1).openTime, to);
    });
  },
});
