import assert from "node:assert/strict";
import { streamKey, STREAMS } from "@lib/contracts";
import { engineAvailable, gatewayFixture } from "../testing.ts";

Deno.test({
  name: "admin routes: simulator controls, status, markets, funding and roles",
  ignore: !engineAvailable(),
  async fn(t) {
    // public reads are cached far longer than any step: an admin change must clear them itself
    await using gw = await gatewayFixture({ engine: true, settings: { readCacheMs: 60_000 } });
    const admin = await gw.admin();
    const user = await gw.signup();
    const controls = async () =>
      ((await gw.redis.xRange(streamKey(gw.prefix, STREAMS.simControl), "-", "+")) ?? []).map((e) =>
        JSON.parse(e.message.payload)
      );

    await t.step("start and stop answer the original shape and reach the simulator", async () => {
      const start = await gw.call("POST", "/v1/admin/sim/start", { headers: admin.headers });
      assert.deepEqual(start.json, { running: true });
      const stop = await gw.call("POST", "/v1/admin/sim/stop", { headers: admin.headers });
      assert.deepEqual(stop.json, { running: false });
      assert.deepEqual((await controls()).map((c) => c.action), ["start", "stop"]);
    });

    await t.step("a stop the simulator has not applied yet shows as requested", async () => {
      const [start, stop] = (await gw.redis.xRange(streamKey(gw.prefix, STREAMS.simControl), "-", "+"))!;
      const status = (lastControlId?: string) =>
        gw.redis.set(`${gw.prefix}:sim:status`, JSON.stringify({ running: true, lastControlId, ts: 1 }));
      await status(start.id); // published before the stop reached the simulator
      const before = await gw.call("GET", "/v1/admin/sim/status", { headers: admin.headers });
      assert.equal(before.json.running, false, "the stop is on its way");
      const paused = await gw.call("POST", "/v1/admin/symbols/BTC-USD/pause", { headers: admin.headers });
      assert.equal(paused.json.running, false);
      await gw.call("POST", "/v1/admin/symbols/BTC-USD/resume", { headers: admin.headers });
      await status(stop.id);
      const applied = await gw.call("GET", "/v1/admin/sim/status", { headers: admin.headers });
      assert.equal(applied.json.running, true, "once applied, the simulator's own word counts");
      await gw.redis.del(`${gw.prefix}:sim:status`);
    });

    await t.step("volatility: the original number, a named profile, and validation", async () => {
      const raw = await gw.call("POST", "/v1/admin/sim/volatility-profile", {
        headers: admin.headers,
        body: { volatility: 0.01 },
      });
      assert.equal(raw.status, 200);
      assert.equal(raw.json.running, false);
      assert.equal(raw.json.volatility, 0.01);
      const empty = await gw.call("POST", "/v1/admin/sim/volatility-profile", { headers: admin.headers });
      assert.equal(empty.json.volatility, 0, "no volatility sets 0, as in the original");
      const named = await gw.call("POST", "/v1/admin/sim/volatility-profile", {
        headers: admin.headers,
        body: { profile: "crash", symbol: "btc-usd" },
      });
      assert.deepEqual(named.json, { running: false, profile: "crash", symbol: "BTC-USD" });
      const neg = await gw.call("POST", "/v1/admin/sim/volatility-profile", {
        headers: admin.headers,
        body: { volatility: -1 },
      });
      assert.equal(neg.status, 400);
      assert.equal(neg.json.field, "volatility");
      const bad = await gw.call("POST", "/v1/admin/sim/volatility-profile", {
        headers: admin.headers,
        body: { profile: "wild" },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.field, "profile");
      // beyond 10 % a tick the model means nothing (1e308 once froze the simulator)
      const huge = await gw.call("POST", "/v1/admin/sim/volatility-profile", {
        headers: admin.headers,
        body: { volatility: 1e308 },
      });
      assert.equal(huge.status, 400);
      assert.equal(huge.json.field, "volatility");
      assert.match(huge.json.detail, /0\.1/);
      const nowhere = await gw.call("POST", "/v1/admin/sim/volatility-profile", {
        headers: admin.headers,
        body: { volatility: 0.01, symbol: "XYZ-USD" },
      });
      assert.equal(nowhere.status, 404);
      assert.equal(nowhere.json.code, "UNKNOWN_SYMBOL");
      const vols = (await controls()).filter((c) => c.action === "volatility");
      assert.deepEqual(vols.map((c) => [c.volatility, c.profile, c.symbol]), [
        [0.01, undefined, undefined],
        [0, undefined, undefined],
        [undefined, "crash", "BTC-USD"],
      ]);
    });

    await t.step(
      "bots: count and rate per kind reach the simulator; validation names the field",
      async () => {
        const set = await gw.call("POST", "/v1/admin/sim/bots", {
          headers: admin.headers,
          body: { kind: "marketMakers", count: 3, ratePerSec: 2.5 },
        });
        assert.equal(set.status, 200);
        assert.deepEqual(set.json, { running: false, kind: "marketMakers", count: 3, ratePerSec: 2.5 });
        const bots = (await controls()).filter((c) => c.action === "bots");
        assert.deepEqual(bots.map((c) => [c.kind, c.count, c.ratePerSec]), [["marketMakers", 3, 2.5]]);
        // numbers written with an exponent are numbers here (they are refused only as decimals)
        const exp = await gw.call("POST", "/v1/admin/sim/bots", {
          headers: admin.headers,
          body: '{"kind":"noiseTraders","count":2e0,"ratePerSec":5e-1}',
        });
        assert.equal(exp.status, 200, exp.text);
        assert.deepEqual([exp.json.count, exp.json.ratePerSec], [2, 0.5]);
        const volatility = await gw.call("POST", "/v1/admin/sim/volatility-profile", {
          headers: admin.headers,
          body: '{"volatility":1e-4}',
        });
        assert.equal(volatility.status, 200, volatility.text);
        const badKind = await gw.call("POST", "/v1/admin/sim/bots", {
          headers: admin.headers,
          body: { kind: "whales", count: 1 },
        });
        assert.equal(badKind.status, 400);
        assert.equal(badKind.json.field, "kind");
        const nothing = await gw.call("POST", "/v1/admin/sim/bots", {
          headers: admin.headers,
          body: { kind: "noiseTraders" },
        });
        assert.equal(nothing.status, 400);
        assert.equal(nothing.json.field, "count");
        const user = await gw.call("POST", "/v1/admin/sim/bots", {
          headers: (await gw.signup()).headers,
          body: { kind: "noiseTraders", count: 1 },
        });
        assert.equal(user.status, 403);
      },
    );

    await t.step("status reads the simulator's published status", async () => {
      const none = await gw.call("GET", "/v1/admin/sim/status", { headers: admin.headers });
      assert.deepEqual(none.json, { running: false });
      const status = {
        running: true,
        symbols: [{ symbol: "BTC-USD", paused: false, price: "65000", regime: "calm" }],
        ts: 1,
      };
      await gw.redis.set(`${gw.prefix}:sim:status`, JSON.stringify(status));
      const r = await gw.call("GET", "/v1/admin/sim/status", { headers: admin.headers });
      assert.deepEqual(r.json, status);
      const start = await gw.call("POST", "/v1/admin/symbols/BTC-USD/resume", { headers: admin.headers });
      assert.equal(start.json.running, true, "running comes from the simulator's status");
    });

    await t.step("pause, resume and ensure change the market in the engine", async () => {
      const unknown = await gw.call("POST", "/v1/admin/symbols/NOPE-USD/pause", { headers: admin.headers });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.code, "UNKNOWN_SYMBOL");
      const ensured = await gw.call("POST", "/v1/admin/symbols/eth-btc/ensure", {
        headers: admin.headers,
        body: { startPrice: "0.05", stepSize: "0.001" },
      });
      assert.equal(ensured.status, 200, ensured.text);
      assert.deepEqual(ensured.json, { running: true, symbol: "eth-btc", paused: false, ensured: true });
      const market = await gw.call("GET", "/v1/markets/ETH-BTC");
      assert.equal(market.status, 200);
      assert.equal(market.json.startPrice, "0.05");
      assert.equal(market.json.tickSize, "0.00001", "five digits of price, room for the given step");
      const order = await gw.call("POST", "/v1/orders", {
        headers: user.headers,
        body: { symbol: "ETH-BTC", side: "SELL", type: "LIMIT", price: "0.05", qty: "1" },
      });
      assert.equal(order.status, 201, order.text);
      const paused = await gw.call("POST", "/v1/admin/symbols/ETH-BTC/pause", { headers: admin.headers });
      assert.equal(paused.json.paused, true);
      const refused = await gw.call("POST", "/v1/orders", {
        headers: user.headers,
        body: { symbol: "ETH-BTC", side: "SELL", type: "LIMIT", price: "0.05", qty: "1" },
      });
      assert.equal(refused.json.code, "MARKET_PAUSED");
      const again = await gw.call("POST", "/v1/admin/symbols/ETH-BTC/ensure", { headers: admin.headers });
      assert.equal(again.json.ensured, true);
      const listed = await gw.call("GET", "/v1/markets/ETH-BTC");
      assert.equal(listed.json.status, "TRADING", "ensure un-pauses an existing market");
    });

    await t.step("cached market reads change as soon as an admin changes a market", async () => {
      const status = async () => [
        (await gw.call("GET", "/v1/markets/ETH-BTC")).json.status,
        (await gw.call("GET", "/v1/markets")).json.find((m: { symbol: string }) => m.symbol === "ETH-BTC")
          .status,
      ];
      assert.deepEqual(await status(), ["TRADING", "TRADING"]); // now in the cache
      await gw.call("POST", "/v1/admin/symbols/ETH-BTC/pause", { headers: admin.headers });
      assert.deepEqual(await status(), ["PAUSED", "PAUSED"]);
      await gw.call("POST", "/v1/admin/symbols/ETH-BTC/resume", { headers: admin.headers });
      assert.deepEqual(await status(), ["TRADING", "TRADING"]);
    });

    await t.step("ensure cannot change a listed market's filters", async () => {
      const other = await gw.call("POST", "/v1/admin/symbols/ETH-BTC/ensure", {
        headers: admin.headers,
        body: { tickSize: "1" },
      });
      assert.equal(other.status, 409, other.text);
      assert.equal(other.json.code, "MARKET_EXISTS");
      assert.equal(other.json.field, "tickSize");
      assert.match(other.json.detail, /listed already with tickSize 0\.00001 \(asked 1\)/);
      const same = await gw.call("POST", "/v1/admin/symbols/ETH-BTC/ensure", {
        headers: admin.headers,
        body: { tickSize: "0.000010", startPrice: "0.05" },
      });
      assert.equal(same.status, 200, "the same filters, written otherwise, are no change");
    });

    await t.step("ensure without filters: the price the listed markets imply, filters that fit", async () => {
      const markets = await gw.call("GET", "/v1/markets");
      const price = (s: string) => markets.json.find((m: { symbol: string }) => m.symbol === s).startPrice;
      const sol = await gw.call("POST", "/v1/admin/symbols/SOL-USD/ensure", { headers: admin.headers });
      assert.equal(sol.status, 200, sol.text);
      const listed = await gw.call("GET", "/v1/markets/SOL-USD");
      assert.equal(listed.json.startPrice, price("BTC-USD"), "SOL is unknown: the first USD market's price");
      // USD in ETH is the inverse of ETH-USD (no trades yet: its start price)
      const inverse = await gw.call("POST", "/v1/admin/symbols/USD-ETH/ensure", { headers: admin.headers });
      assert.equal(inverse.status, 200, inverse.text);
      const usdEth = (await gw.call("GET", "/v1/markets/USD-ETH")).json;
      const implied = 1 / Number(price("ETH-USD"));
      assert.ok(
        Math.abs(Number(usdEth.startPrice) / implied - 1) < 1e-3,
        `${usdEth.startPrice} ~ ${implied}`,
      );
      const order = await gw.call("POST", "/v1/orders", {
        headers: user.headers,
        body: {
          symbol: "SOL-USD",
          side: "BUY",
          type: "LIMIT",
          price: listed.json.startPrice,
          qty: listed.json.stepSize,
        },
      });
      assert.equal(order.status, 201, order.text);
      const bad = await gw.call("POST", "/v1/admin/symbols/DOGE-USD/ensure", {
        headers: admin.headers,
        body: { tickSize: "0.0001", stepSize: "0.0001" },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.code, "INVALID_MARKET");
      assert.match(bad.json.detail, /^cannot list DOGE-USD: .*minor units/);
    });

    await t.step("fund credits a user's wallet", async () => {
      const before = await gw.call("GET", "/v1/wallet", { headers: user.headers });
      const r = await gw.call("POST", "/v1/admin/wallets/fund", {
        headers: admin.headers,
        body: { userId: user.userId, asset: "btc", amount: 1.5 },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(Number(r.json.available.BTC) - Number(before.json.available.BTC), 1.5);
      const bad = await gw.call("POST", "/v1/admin/wallets/fund", {
        headers: admin.headers,
        body: { userId: user.userId, asset: "USD", amount: "-5" },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.field, "amount");
      // a typo must not open a funded phantom account
      const nobody = await gw.call("POST", "/v1/admin/wallets/fund", {
        headers: admin.headers,
        body: { userId: "usr_nonexistent1", asset: "USD", amount: "5" },
      });
      assert.equal(nobody.status, 404);
      assert.equal(nobody.json.code, "UNKNOWN_USER");
      assert.equal(nobody.json.field, "userId");
    });

    await t.step("users list and role change", async () => {
      const list = await gw.call("GET", "/v1/admin/users", { headers: admin.headers });
      assert.ok(list.json.some((u: { userId: string }) => u.userId === user.userId));
      const promoted = await gw.call("POST", `/v1/admin/users/${user.userId}/role`, {
        headers: admin.headers,
        body: { role: "admin" },
      });
      assert.equal(promoted.json.role, "admin");
      const login = await gw.call("POST", "/v1/auth/login", {
        body: { username: user.username, password: "password-123" },
      });
      assert.equal(login.json.user.role, "admin");
      const asAdmin = await gw.call("GET", "/v1/admin/users", {
        headers: { authorization: `Bearer ${login.json.accessToken}` },
      });
      assert.equal(asAdmin.status, 200);
      const missing = await gw.call("POST", "/v1/admin/users/usr_0000000000000000/role", {
        headers: admin.headers,
        body: { role: "user" },
      });
      assert.equal(missing.status, 404);
      // two admins: one may step down; the last one may not
      const demoted = await gw.call("POST", `/v1/admin/users/${user.userId}/role`, {
        headers: admin.headers,
        body: { role: "user" },
      });
      assert.equal(demoted.status, 200, demoted.text);
      assert.equal(demoted.json.role, "user");
      // the demoted user's token still says admin: admin routes ask the database, so it cannot
      // use them, nor make itself admin again
      const oldToken = { authorization: `Bearer ${login.json.accessToken}` };
      for (
        const [method, path, body] of [
          ["GET", "/v1/admin/users", undefined],
          ["POST", `/v1/admin/users/${user.userId}/role`, { role: "admin" }],
          ["POST", `/v1/admin/users/${admin.userId}/role`, { role: "user" }],
        ] as const
      ) {
        const r = await gw.call(method, path, { headers: oldToken, body });
        assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
        assert.equal(r.json.code, "ADMIN_REQUIRED");
      }
      const last = await gw.call("POST", `/v1/admin/users/${admin.userId}/role`, {
        headers: admin.headers,
        body: { role: "user" },
      });
      assert.equal(last.status, 409, last.text);
      assert.equal(last.json.code, "LAST_ADMIN");
      const [row] = await gw.sql`SELECT role FROM users WHERE user_id = ${admin.userId}`;
      assert.equal(row.role, "admin");
    });
  },
});
