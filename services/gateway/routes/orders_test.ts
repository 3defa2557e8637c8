import assert from "node:assert/strict";
import { engineAvailable, gatewayFixture } from "../testing.ts";

const ignore = !engineAvailable();
const limit = (side: string, price: string, qty: string, extra: Record<string, unknown> = {}) => ({
  symbol: "BTC-USD",
  side,
  type: "LIMIT",
  price,
  qty,
  ...extra,
});

Deno.test({
  name: "POST /v1/orders places, fills and rejects orders through the real engine",
  ignore,
  async fn(t) {
    await using gw = await gatewayFixture({ engine: true });
    const maker = await gw.signup();
    const taker = await gw.signup();

    await t.step("a LIMIT order answers 201 with the original OrderAck fields", async () => {
      const r = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: limit("SELL", "65000.5", "0.1", { clientOrderId: "m-1" }),
      });
      assert.equal(r.status, 201, r.text);
      for (
        const f of [
          "orderId",
          "status",
          "filledQty",
          "remainingQty",
          "avgPrice",
          "clientOrderId",
          "symbol",
          "ts",
        ]
      ) {
        assert.ok(f in r.json, `${f} missing`);
      }
      assert.equal(r.json.status, "ACCEPTED");
      assert.equal(r.json.remainingQty, "0.1");
      assert.equal(r.json.clientOrderId, "m-1");
    });

    await t.step("JSON numbers are accepted like decimal strings; a MARKET order fills", async () => {
      const r = await gw.call("POST", "/v1/orders", {
        headers: taker.headers,
        body: { symbol: "btc-usd", side: "BUY", type: "MARKET", qty: 0.04 },
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.status, "FILLED");
      assert.equal(r.json.filledQty, "0.04");
      assert.equal(r.json.avgPrice, "65000.5");
    });

    await t.step(
      "a JSON number keeps its digits: off the tick is refused, tiny and long ones are exact",
      async () => {
        const long = await gw.call("POST", "/v1/orders", {
          headers: taker.headers,
          body: '{"symbol":"BTC-USD","side":"BUY","type":"LIMIT","price":59999.999999999999999,"qty":"0.01"}',
        });
        assert.equal(long.status, 400, long.text);
        assert.equal(long.json.code, "PRICE_OFF_TICK");
        assert.match(long.json.detail, /^price 59999\.999999999999999 is not a multiple of the tick size/);
        const huge = await gw.call("POST", "/v1/orders", {
          headers: taker.headers,
          body: '{"symbol":"BTC-USD","side":"BUY","type":"LIMIT","price":"60000","qty":12345678901234567890}',
        });
        assert.equal(huge.status, 400, huge.text);
        assert.match(huge.json.detail, /got 12345678901234567890$/);
        const tiny = await gw.call("POST", "/v1/orders", {
          headers: taker.headers,
          body: '{"symbol":"BTC-USD","side":"BUY","type":"LIMIT","price":"60000","qty":0.0000001}',
        });
        assert.equal(tiny.status, 400, tiny.text);
        assert.equal(tiny.json.code, "QTY_OFF_STEP", "read as 0.0000001, not refused as 1e-7");
      },
    );

    await t.step("a retry with the same clientOrderId returns the first order with 200", async () => {
      const r = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: limit("SELL", "65000.5", "0.1", { clientOrderId: "m-1" }),
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.clientOrderId, "m-1");
      // the same numbers written another way are still the same order
      const same = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: limit("SELL", "65000.50", "0.1000", { clientOrderId: "m-1", price: 65000.5 }),
      });
      assert.equal(same.status, 200, same.text);
    });

    await t.step("the same clientOrderId with other parameters is a 409, and nothing is placed", async () => {
      const before = await gw.call("GET", "/v1/orders/open", { headers: maker.headers });
      for (
        const body of [
          limit("BUY", "65000.5", "0.1"),
          limit("SELL", "65001", "0.1"),
          limit("SELL", "65000.5", "0.2"),
        ]
      ) {
        const r = await gw.call("POST", "/v1/orders", {
          headers: maker.headers,
          body: { ...body, clientOrderId: "m-1" },
        });
        assert.equal(r.status, 409, r.text);
        assert.equal(r.json.code, "DUPLICATE_CLIENT_ORDER_ID");
        assert.equal(r.json.field, "clientOrderId");
        assert.match(
          r.json.detail,
          /already names order .* which differs in (side|price|qty); this order was not placed/,
        );
      }
      const after = await gw.call("GET", "/v1/orders/open", { headers: maker.headers });
      assert.equal(after.json.length, before.json.length);
    });

    await t.step("a MARKET order is IOC whatever timeInForce it sends", async () => {
      const r = await gw.call("POST", "/v1/orders", {
        headers: taker.headers,
        body: { symbol: "BTC-USD", side: "BUY", type: "MARKET", timeInForce: "GTC", qty: "0.0001" },
      });
      assert.ok(r.status === 201, r.text);
      assert.equal(r.json.timeInForce, "IOC");
    });

    await t.step("a MARKET order takes the original's price 0, and refuses a real price", async () => {
      const zero = await gw.call("POST", "/v1/orders", {
        headers: taker.headers,
        body: { symbol: "BTC-USD", side: "BUY", type: "MARKET", price: 0, qty: "0.0001" },
      });
      assert.equal(zero.status, 201, zero.text);
      assert.equal(zero.json.price, undefined);
      const priced = await gw.call("POST", "/v1/orders", {
        headers: taker.headers,
        body: { symbol: "BTC-USD", side: "BUY", type: "MARKET", price: "65000", qty: "0.0001" },
      });
      assert.equal(priced.status, 400);
      assert.equal(priced.json.field, "price");
      assert.equal(priced.json.errors.length, 1, "one message, not two that disagree");
      assert.match(priced.json.detail, /takes no price.*LIMIT order with timeInForce IOC/);
    });

    await t.step("a field sent as null counts as absent, as the original's decoder read it", async () => {
      // Python's json.dumps of price=None, userId=None, ...
      const market = await gw.call("POST", "/v1/orders", {
        headers: taker.headers,
        body: {
          symbol: "BTC-USD",
          side: "BUY",
          type: "MARKET",
          price: null,
          qty: "0.0001",
          userId: null,
          clientOrderId: null,
          timeInForce: null,
          postOnly: null,
        },
      });
      assert.equal(market.status, 201, market.text);
      const noSide = await gw.call("POST", "/v1/orders", {
        headers: taker.headers,
        body: { symbol: "BTC-USD", side: null, type: "LIMIT", price: "65000", qty: "0.0001" },
      });
      assert.equal(noSide.status, 400);
      assert.equal(noSide.json.field, "side");
      assert.match(noSide.json.detail, /side: is required/);
    });

    await t.step("empty query parameters count as absent", async () => {
      for (
        const path of [
          "/v1/orders/open?symbol=",
          "/v1/orders/history?symbol=&limit=&cursor=",
          "/v1/trades/mine?symbol=&before=",
        ]
      ) {
        const r = await gw.call("GET", path, { headers: maker.headers });
        assert.equal(r.status, 200, `${path}: ${r.text}`);
      }
    });

    await t.step("a symbol filter naming no market is a 404, not an empty list", async () => {
      for (const path of ["/v1/orders/open", "/v1/orders/history", "/v1/trades/mine"]) {
        const r = await gw.call("GET", `${path}?symbol=FOO-BAR`, { headers: maker.headers });
        assert.equal(r.status, 404, `${path}: ${r.text}`);
        assert.equal(r.json.code, "UNKNOWN_SYMBOL");
        assert.match(r.json.detail, /markets: .*BTC-USD/);
      }
    });

    await t.step("a cancel names orderId or clientOrderId, not both", async () => {
      const r = await gw.call("DELETE", "/v1/orders?symbol=BTC-USD&orderId=x&clientOrderId=m-1", {
        headers: maker.headers,
      });
      assert.equal(r.status, 400);
      assert.match(r.json.detail, /orderId or clientOrderId, not both/);
    });

    await t.step("a misspelled id parameter is refused, not read as cancel all", async () => {
      const placed = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: { symbol: "BTC-USD", side: "SELL", type: "LIMIT", price: "66000", qty: "0.01" },
      });
      assert.equal(placed.status, 201, placed.text);
      for (const key of ["orderid", "order_id", "clientOrderID"]) {
        const r = await gw.call("DELETE", `/v1/orders?symbol=BTC-USD&${key}=${placed.json.orderId}`, {
          headers: maker.headers,
        });
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.code, "VALIDATION_FAILED");
        assert.match(r.json.detail, new RegExp(`unknown parameter "${key}": this route takes symbol`));
      }
      const still = await gw.call("GET", `/v1/orders/${placed.json.orderId}`, { headers: maker.headers });
      assert.equal(still.json.status, "ACCEPTED", "nothing was canceled");
    });

    await t.step("userId in the body must be the caller", async () => {
      const same = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: limit("SELL", "66000", "0.01", { userId: maker.userId }),
      });
      assert.equal(same.status, 201);
      const other = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: limit("SELL", "66000", "0.01", { userId: taker.userId }),
      });
      assert.equal(other.status, 403);
      assert.equal(other.json.code, "USER_MISMATCH");
      // spaces around it are trimmed, as the original did
      const padded = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: limit("SELL", "66000", "0.01", { userId: ` ${maker.userId} ` }),
      });
      assert.equal(padded.status, 201, padded.text);
      // the original's clients send the login they got their token with: the username is the caller too
      const byName = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: limit("SELL", "66000", "0.01", { userId: maker.username.toUpperCase() }),
      });
      assert.equal(byName.status, 201, byName.text);
      const otherName = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: limit("SELL", "66000", "0.01", { userId: taker.username }),
      });
      assert.equal(otherName.status, 403);
    });

    const rejections: [string, Record<string, unknown>, number, string, string?][] = [
      ["off tick (gateway)", limit("BUY", "64000.001", "0.01"), 400, "PRICE_OFF_TICK", "price"],
      ["off step (gateway)", limit("BUY", "64000", "0.00001"), 400, "QTY_OFF_STEP", "qty"],
      ["huge qty (gateway)", limit("SELL", "70000", "10000000000000000"), 400, "QTY_TOO_LARGE", "qty"],
      ["huge price (gateway)", limit("SELL", "9999999999999999", "0.01"), 400, "PRICE_OUT_OF_BAND", "price"],
      ["unknown symbol", { ...limit("BUY", "1", "1"), symbol: "DOGE-USD" }, 404, "UNKNOWN_SYMBOL", "symbol"],
      [
        "missing price",
        { symbol: "BTC-USD", side: "BUY", type: "LIMIT", qty: "1" },
        400,
        "VALIDATION_FAILED",
        "price",
      ],
      ["bad side", limit("HOLD", "64000", "0.01"), 400, "VALIDATION_FAILED", "side"],
      ["negative qty", limit("BUY", "64000", "-1"), 400, "VALIDATION_FAILED", "qty"],
      ["exponent", limit("BUY", "64000", "1e-3"), 400, "VALIDATION_FAILED", "qty"],
      [
        "quoteQty on a SELL",
        { symbol: "BTC-USD", side: "SELL", type: "MARKET", quoteQty: "10" },
        400,
        "VALIDATION_FAILED",
        "quoteQty",
      ],
      ["too small (engine)", limit("BUY", "64000", "0.00001"), 400, "QTY_OFF_STEP", "qty"],
      ["below min notional (engine)", limit("BUY", "40000", "0.0001"), 400, "NOTIONAL_TOO_SMALL"],
      ["out of band (engine)", limit("BUY", "6400", "0.01"), 400, "PRICE_OUT_OF_BAND", "price"],
      ["insufficient balance (engine)", limit("BUY", "70000", "100"), 422, "INSUFFICIENT_BALANCE"],
      [
        "post-only crossing (engine)",
        limit("BUY", "65000.5", "0.01", { postOnly: true }),
        400,
        "POST_ONLY_WOULD_CROSS",
      ],
    ];
    for (const [name, body, status, code, field] of rejections) {
      await t.step(`rejects: ${name}`, async () => {
        const r = await gw.call("POST", "/v1/orders", { headers: taker.headers, body });
        assert.equal(r.status, status, r.text);
        assert.match(r.headers.get("content-type")!, /problem\+json/);
        assert.equal(r.json.code, code);
        if (field) assert.equal(r.json.field, field);
        assert.ok(r.json.detail.length > 10);
      });
    }

    await t.step("refusals say what is missing or allowed", async () => {
      const cases: [string, unknown, string, RegExp][] = [
        [
          "missing side",
          { symbol: "BTC-USD", type: "LIMIT", price: "1", qty: "1" },
          "side",
          /^side: is required: one of BUY, SELL$/,
        ],
        [
          "missing type",
          { symbol: "BTC-USD", side: "BUY", qty: "1" },
          "type",
          /^type: is required: one of LIMIT, MARKET$/,
        ],
        [
          "FOK on a MARKET order",
          { symbol: "BTC-USD", side: "BUY", type: "MARKET", qty: "0.01", timeInForce: "fok" },
          "timeInForce",
          /FOK is allowed only for LIMIT orders \(a MARKET order is always IOC\)/,
        ],
        [
          "a price no tick count can hold",
          limit("SELL", "1000000000000000000000000000000", "0.01"),
          "price",
          /is above [0-9.]+, the highest price BTC-USD can take/,
        ],
      ];
      for (const [name, body, field, detail] of cases) {
        const r = await gw.call("POST", "/v1/orders", { headers: taker.headers, body });
        assert.equal(r.status, 400, `${name}: ${r.text}`);
        assert.equal(r.json.field, field, name);
        assert.match(r.json.detail, detail, name);
      }
      const fok = await gw.call("POST", "/v1/orders", {
        headers: taker.headers,
        body: { symbol: "BTC-USD", side: "BUY", type: "MARKET", qty: "0.01", timeInForce: "FOK" },
      });
      assert.equal(fok.json.code, "VALIDATION_FAILED", "like postOnly on a MARKET order");
    });

    await t.step("orders on a paused market are refused with 422 MARKET_PAUSED", async () => {
      const admin = await gw.admin();
      const p = await gw.call("POST", "/v1/admin/symbols/eth-usd/pause", { headers: admin.headers });
      assert.equal(p.status, 200, p.text);
      assert.deepEqual(p.json, { running: false, symbol: "eth-usd", paused: true, ensured: false });
      const r = await gw.call("POST", "/v1/orders", {
        headers: taker.headers,
        body: { symbol: "ETH-USD", side: "BUY", type: "LIMIT", price: "3200", qty: "0.01" },
      });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.json.code, "MARKET_PAUSED");
      const resumed = await gw.call("POST", "/v1/admin/symbols/ETH-USD/resume", { headers: admin.headers });
      assert.equal(resumed.json.paused, false);
    });
  },
});

Deno.test({
  name: "cancel, open orders, order by id, history with fills, my trades and wallet",
  ignore,
  async fn(t) {
    await using gw = await gatewayFixture({ engine: true });
    const a = await gw.signup();
    const b = await gw.signup();
    const place = async (who: typeof a, body: Record<string, unknown>) => {
      const r = await gw.call("POST", "/v1/orders", { headers: who.headers, body });
      assert.ok(r.status === 201, r.text);
      return r.json;
    };
    const o1 = await place(a, limit("BUY", "64000", "0.01", { clientOrderId: "a-1" }));
    const o2 = await place(a, limit("BUY", "63000", "0.02", { clientOrderId: "a-2" }));
    const o3 = await place(a, limit("BUY", "62000", "0.03", { clientOrderId: "a-3" }));
    const eth = await place(a, { symbol: "ETH-USD", side: "SELL", type: "LIMIT", price: "3300", qty: "0.5" });

    await t.step("open orders are sorted by createdAt ascending and filter by symbol", async () => {
      const r = await gw.call("GET", "/v1/orders/open", { headers: a.headers });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.map((o: { orderId: string }) => o.orderId), [
        o1.orderId,
        o2.orderId,
        o3.orderId,
        eth.orderId,
      ]);
      const only = await gw.call("GET", "/v1/orders/open?symbol=ETH-USD", { headers: a.headers });
      assert.deepEqual(only.json.map((o: { orderId: string }) => o.orderId), [eth.orderId]);
      const none = await gw.call("GET", "/v1/orders/open", { headers: b.headers });
      assert.deepEqual(none.json, []);
    });

    await t.step("wallet keeps available/reserved maps and adds balances", async () => {
      const r = await gw.call("GET", "/v1/wallet", { headers: a.headers });
      assert.equal(r.status, 200);
      assert.equal(r.json.userId, a.userId);
      assert.equal(typeof r.json.available.USD, "string");
      assert.equal(r.json.reserved.USD, "3760");
      assert.equal(r.json.reserved.ETH, "0.5");
      assert.ok(
        r.json.balances.some((x: { asset: string; locked: string }) =>
          x.asset === "USD" && x.locked === "3760"
        ),
      );
    });

    await t.step("order by id is 404 for another user", async () => {
      const mine = await gw.call("GET", `/v1/orders/${o1.orderId}`, { headers: a.headers });
      assert.equal(mine.status, 200);
      assert.equal(mine.json.orderId, o1.orderId);
      const theirs = await gw.call("GET", `/v1/orders/${o1.orderId}`, { headers: b.headers });
      assert.equal(theirs.status, 404);
      assert.equal(theirs.json.code, "UNKNOWN_ORDER");
      const cancelTheirs = await gw.call("DELETE", `/v1/orders/${o1.orderId}`, { headers: b.headers });
      assert.equal(cancelTheirs.status, 404);
      assert.equal(cancelTheirs.json.code, "UNKNOWN_ORDER");
    });

    await t.step("cancel by id answers 200 with status CANCELED; again is 404", async () => {
      const r = await gw.call("DELETE", `/v1/orders/${o1.orderId}`, { headers: a.headers });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, "CANCELED");
      assert.equal(r.json.orderId, o1.orderId);
      const again = await gw.call("DELETE", `/v1/orders/${o1.orderId}`, { headers: a.headers });
      assert.equal(again.status, 404);
    });

    await t.step("cancel by clientOrderId and cancel all on a symbol", async () => {
      const r = await gw.call("DELETE", "/v1/orders?symbol=BTC-USD&clientOrderId=a-2", {
        headers: a.headers,
      });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.map((o: { orderId: string }) => o.orderId), [o2.orderId]);
      const all = await gw.call("DELETE", "/v1/orders?symbol=BTC-USD", { headers: a.headers });
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(all.json.map((o: { orderId: string }) => o.orderId), [o3.orderId]);
      const noSymbol = await gw.call("DELETE", "/v1/orders", { headers: a.headers });
      assert.equal(noSymbol.status, 400);
      assert.equal(noSymbol.json.field, "symbol");
      const open = await gw.call("GET", "/v1/orders/open", { headers: a.headers });
      assert.deepEqual(open.json.map((o: { orderId: string }) => o.orderId), [eth.orderId]);
    });

    await t.step("fills show in my trades and in order history", async () => {
      const buy = await place(b, {
        symbol: "ETH-USD",
        side: "BUY",
        type: "LIMIT",
        price: "3300",
        qty: "0.2",
        timeInForce: "IOC",
      });
      assert.equal(buy.status, "FILLED");
      for (const who of [a, b]) {
        for (const path of ["/v1/trades/mine", "/v1/me/trades"]) {
          const r = await gw.call("GET", path, { headers: who.headers });
          assert.equal(r.status, 200);
          assert.equal(r.json.length, 1);
          const e = r.json[0];
          for (const f of ["tradeId", "makerOrderId", "makerUserId", "takerOrderId", "takerUserId"]) {
            assert.ok(e[f], f);
          }
          assert.equal(e.makerUserId, a.userId);
          assert.equal(e.takerUserId, b.userId);
        }
      }
      const h = await gw.call("GET", "/v1/orders/history?limit=2", { headers: a.headers });
      assert.equal(h.status, 200, h.text);
      assert.equal(h.json.orders.length, 2);
      assert.equal(h.json.orders[0].orderId, eth.orderId, "newest first");
      assert.equal(h.json.orders[0].fills.length, 1);
      assert.equal(h.json.orders[0].fills[0].qty, "0.2");
      assert.ok(h.json.nextCursor);
      const page2 = await gw.call(
        "GET",
        `/v1/orders/history?limit=2&cursor=${encodeURIComponent(h.json.nextCursor)}`,
        {
          headers: a.headers,
        },
      );
      assert.equal(page2.json.orders.length, 2);
      const seen = [...h.json.orders, ...page2.json.orders].map((o: { orderId: string }) => o.orderId);
      assert.deepEqual(seen, [eth.orderId, o3.orderId, o2.orderId, o1.orderId]);
      const btc = await gw.call("GET", "/v1/orders/history?symbol=ETH-USD", { headers: a.headers });
      assert.deepEqual(btc.json.orders.map((o: { orderId: string }) => o.orderId), [eth.orderId]);
      assert.equal(btc.json.nextCursor, null);
    });

    await t.step("closed orders whose record expired from Redis come from the ledger", async () => {
      const { keys } = await import("@lib/contracts");
      // as the ledger writer records them: every event of the order, the newest last
      for (const [i, o] of [o1, o2].entries()) {
        const record = await gw.redis.get(keys.order(gw.prefix, o.orderId));
        assert.ok(record);
        const state = JSON.parse(record);
        const at = new Date(state.ts);
        await gw.sql`INSERT INTO order_events (stream_id, order_id, event, status, at, body) VALUES
          (${`${state.createdAt}-${i}/0`}, ${o.orderId}, 'NEW', 'NEW', ${at},
           ${gw.sql.json({ ...state, status: "NEW" })}),
          (${`${state.ts}-${i}/1`}, ${o.orderId}, 'CANCELED', 'CANCELED', ${at}, ${gw.sql.json(state)})`;
        await gw.redis.del(keys.order(gw.prefix, o.orderId));
      }
      const one = await gw.call("GET", `/v1/orders/${o1.orderId}`, { headers: a.headers });
      assert.equal(one.status, 200, one.text);
      assert.equal(one.json.status, "CANCELED", "the state after the last event");
      const h = await gw.call("GET", "/v1/orders/history", { headers: a.headers });
      assert.deepEqual(h.json.orders.map((o: { orderId: string; status: string }) => [o.orderId, o.status]), [
        [eth.orderId, "PARTIALLY_FILLED"],
        [o3.orderId, "CANCELED"],
        [o2.orderId, "CANCELED"],
        [o1.orderId, "CANCELED"],
      ]);
    });
  },
});

Deno.test("an engine that does not answer gives 504 with a retry hint", async () => {
  await using gw = await gatewayFixture({ settings: { engineTimeoutMs: 100 } });
  const s = await gw.signup();
  const r = await gw.call("POST", "/v1/orders", { headers: s.headers, body: limit("BUY", "64000", "0.01") });
  assert.equal(r.status, 504);
  assert.equal(r.json.code, "ENGINE_TIMEOUT");
  assert.match(r.json.detail, /clientOrderId/);
});
