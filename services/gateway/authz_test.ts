import assert from "node:assert/strict";
import { streamKey, STREAMS } from "@lib/contracts";
import { engineAvailable, gatewayFixture, type Session } from "./testing.ts";

type Who = "anonymous" | "user" | "other" | "admin";
interface Case {
  path: string;
  body?: unknown;
}

Deno.test({
  name: "authorization matrix: every route x anonymous / user / other user / admin",
  ignore: !engineAvailable(),
  async fn(t) {
    await using gw = await gatewayFixture({ engine: true });
    const user = await gw.signup();
    const other = await gw.signup();
    const admin = await gw.admin();
    const sessions: Record<Exclude<Who, "anonymous">, Session> = { user, other, admin };

    // resources owned by `user`, recreated per call where a call consumes them
    const newOrder = async () => {
      const r = await gw.call("POST", "/v1/orders", {
        headers: user.headers,
        body: { symbol: "BTC-USD", side: "BUY", type: "LIMIT", price: "60000", qty: "0.001" },
      });
      assert.equal(r.status, 201, r.text);
      return r.json.orderId as string;
    };
    const newKey = async () => {
      const r = await gw.call("POST", "/v1/api-keys", { headers: user.headers, body: {} });
      return r.json.keyId as string;
    };
    const order = { id: await newOrder() };
    const key = { id: await newKey() };

    const cases: Record<string, () => Promise<Case> | Case> = {
      "GET /healthz": () => ({ path: "/healthz" }),
      "GET /metrics": () => ({ path: "/metrics" }),
      "GET /v1": () => ({ path: "/v1" }),
      "GET /v1/openapi.json": () => ({ path: "/v1/openapi.json" }),
      "GET /docs": () => ({ path: "/docs" }),
      "POST /v1/auth/signup": () => ({
        path: "/v1/auth/signup",
        body: { username: `s${crypto.randomUUID().slice(0, 8)}`, password: "password-123" },
      }),
      "POST /v1/auth/login": () => ({
        path: "/v1/auth/login",
        body: { username: user.username, password: "password-123" },
      }),
      "POST /v1/auth/token": () => ({
        path: "/v1/auth/token",
        body: { userId: user.userId, password: "password-123" },
      }),
      "POST /v1/auth/refresh": async () => {
        const l = await gw.call("POST", "/v1/auth/login", {
          body: { username: user.username, password: "password-123" },
        });
        return { path: "/v1/auth/refresh", body: { refreshToken: l.json.refreshToken } };
      },
      "POST /v1/auth/logout": () => ({ path: "/v1/auth/logout", body: { refreshToken: "rt_unknown" } }),
      "POST /v1/orders": () => ({
        path: "/v1/orders",
        body: { symbol: "BTC-USD", side: "BUY", type: "LIMIT", price: "60000", qty: "0.001" },
      }),
      "DELETE /v1/orders": () => ({ path: "/v1/orders?symbol=ETH-USD" }),
      "GET /v1/orders/open": () => ({ path: "/v1/orders/open" }),
      "GET /v1/orders/history": () => ({ path: "/v1/orders/history" }),
      "GET /v1/orders/:orderId": () => ({ path: `/v1/orders/${order.id}` }),
      "DELETE /v1/orders/:orderId": () => ({ path: `/v1/orders/${order.id}` }),
      "GET /v1/me": () => ({ path: "/v1/me" }),
      "GET /v1/wallet": () => ({ path: "/v1/wallet" }),
      "GET /v1/wallet/postings": () => ({ path: "/v1/wallet/postings" }),
      "GET /v1/trades/mine": () => ({ path: "/v1/trades/mine" }),
      "GET /v1/me/trades": () => ({ path: "/v1/me/trades" }),
      "POST /v1/api-keys": () => ({ path: "/v1/api-keys", body: { label: "x" } }),
      "GET /v1/api-keys": () => ({ path: "/v1/api-keys" }),
      "DELETE /v1/api-keys/:keyId": () => ({ path: `/v1/api-keys/${key.id}` }),
      "GET /v1/markets": () => ({ path: "/v1/markets" }),
      "GET /v1/tickers": () => ({ path: "/v1/tickers" }),
      "GET /v1/markets/:symbol": () => ({ path: "/v1/markets/BTC-USD" }),
      "GET /v1/markets/:symbol/book": () => ({ path: "/v1/markets/BTC-USD/book" }),
      "GET /v1/markets/:symbol/trades": () => ({ path: "/v1/markets/BTC-USD/trades" }),
      "GET /v1/markets/:symbol/ticker": () => ({ path: "/v1/markets/BTC-USD/ticker" }),
      "GET /v1/markets/:symbol/candles": () => ({ path: "/v1/markets/BTC-USD/candles?fill=false" }),
      "POST /v1/admin/sim/start": () => ({ path: "/v1/admin/sim/start" }),
      "POST /v1/admin/sim/stop": () => ({ path: "/v1/admin/sim/stop" }),
      "POST /v1/admin/sim/volatility-profile": () => ({
        path: "/v1/admin/sim/volatility-profile",
        body: { profile: "calm" },
      }),
      "GET /v1/admin/sim/status": () => ({ path: "/v1/admin/sim/status" }),
      "POST /v1/admin/sim/bots": () => ({
        path: "/v1/admin/sim/bots",
        body: { kind: "noiseTraders", count: 2 },
      }),
      "GET /v1/admin/status": () => ({ path: "/v1/admin/status" }),
      "POST /v1/admin/symbols/:symbol/pause": () => ({ path: "/v1/admin/symbols/BTC-ETH/pause" }),
      "POST /v1/admin/symbols/:symbol/resume": () => ({ path: "/v1/admin/symbols/BTC-ETH/resume" }),
      "POST /v1/admin/symbols/:symbol/ensure": () => ({ path: "/v1/admin/symbols/ETH-BTC/ensure", body: {} }),
      "POST /v1/admin/wallets/fund": () => ({
        path: "/v1/admin/wallets/fund",
        body: { userId: user.userId, asset: "USD", amount: "1" },
      }),
      "GET /v1/admin/users": () => ({ path: "/v1/admin/users" }),
      "POST /v1/admin/users/:userId/role": () => ({
        path: `/v1/admin/users/${other.userId}/role`,
        body: { role: "user" },
      }),
    };
    // routes whose resource belongs to `user`: another user gets 404, not the resource
    const owned = new Set([
      "GET /v1/orders/:orderId",
      "DELETE /v1/orders/:orderId",
      "DELETE /v1/api-keys/:keyId",
    ]);

    const routes = gw.registry.routes.filter((r) => r.tags[0] !== "websocket");
    for (const spec of routes) {
      const name = `${spec.method.toUpperCase()} ${spec.path}`;
      assert.ok(cases[name], `the matrix has no case for ${name}`);
    }

    for (const spec of routes) {
      const name = `${spec.method.toUpperCase()} ${spec.path}`;
      await t.step(name, async () => {
        const callers: Who[] = ["anonymous", "other", "user", "admin"];
        for (const who of callers) {
          const c = await cases[name]();
          const headers = who === "anonymous" ? {} : sessions[who].headers;
          const r = await gw.call(spec.method.toUpperCase(), c.path, { headers, body: c.body });
          const label = `${name} as ${who}: ${r.status} ${r.text.slice(0, 200)}`;
          assert.ok(r.status < 500, label);
          if (spec.auth === "none") {
            assert.ok(r.status !== 401 && r.status !== 403, label);
            continue;
          }
          if (who === "anonymous") {
            assert.equal(r.status, 401, label);
            assert.equal(r.json.code, "MISSING_AUTHENTICATION", label);
          } else if (spec.auth === "admin" && who !== "admin") {
            assert.equal(r.status, 403, label);
            assert.equal(r.json.code, "ADMIN_REQUIRED", label);
          } else if (who === "other" && owned.has(name)) {
            assert.equal(r.status, 404, label);
          } else {
            assert.ok(r.status !== 401 && r.status !== 403, label);
            if (who === "user" && owned.has(name)) assert.ok(r.status < 300, label);
          }
        }
        if (name === "DELETE /v1/orders/:orderId") order.id = await newOrder();
        if (name === "DELETE /v1/api-keys/:keyId") key.id = await newKey();
      });
    }

    await t.step("admin controls reach the simulator's control stream", async () => {
      const ensured = await gw.call("POST", "/v1/admin/symbols/ETH-BTC/ensure", {
        headers: admin.headers,
        body: {},
      });
      assert.equal(ensured.status, 200, ensured.text);
      const entries = (await gw.redis.xRange(streamKey(gw.prefix, STREAMS.simControl), "-", "+")) ?? [];
      const actions = entries.map((e) => JSON.parse(e.message.payload).action);
      for (const a of ["start", "stop", "volatility", "pause", "resume", "ensure"]) {
        assert.ok(actions.includes(a), a);
      }
      const vol = entries.map((e) => JSON.parse(e.message.payload)).find((m) => m.action === "volatility");
      assert.equal(vol.profile, "calm");
      const markets = await gw.call("GET", "/v1/markets/ETH-BTC");
      assert.equal(markets.status, 200, "ensure listed the new market");
    });
  },
});
