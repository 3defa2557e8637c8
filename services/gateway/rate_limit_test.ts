import assert from "node:assert/strict";
import { gatewayFixture } from "./testing.ts";

// an hour-long window, so no window boundary falls inside the test
const limits = { windowMs: 3_600_000, ip: 5, user: 3, auth: 2 };

Deno.test("rate limits: per IP, per user and on login routes, with 429 and Retry-After", async (t) => {
  await using gw = await gatewayFixture({ settings: { rateLimit: limits } });

  await t.step("per IP on public routes", async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await gw.call("GET", "/v1/markets", { ip: "10.0.0.1" })).status, 200);
    }
    const r = await gw.call("GET", "/v1/markets", { ip: "10.0.0.1" });
    assert.equal(r.status, 429);
    assert.equal(r.json.code, "RATE_LIMITED");
    assert.match(r.json.detail, /ip limit is 5 per 3600000 ms/);
    const retry = Number(r.headers.get("retry-after"));
    assert.ok(retry >= 1 && retry <= 3600, String(retry));
    assert.equal(
      (await gw.call("GET", "/v1/markets", { ip: "10.0.0.2" })).status,
      200,
      "other IPs are not limited",
    );
  });

  await t.step("login attempts per IP", async () => {
    const body = { username: "nobody", password: "wrong-password" };
    for (let i = 0; i < 2; i++) {
      assert.equal((await gw.call("POST", "/v1/auth/login", { body, ip: "10.0.0.3" })).status, 401);
    }
    const r = await gw.call("POST", "/v1/auth/login", { body, ip: "10.0.0.3" });
    assert.equal(r.status, 429);
    assert.match(r.json.detail, /auth limit/);
  });

  await t.step("per user across addresses", async () => {
    const s = await gw.signup(undefined);
    for (let i = 0; i < 3; i++) {
      assert.equal((await gw.call("GET", "/v1/me", { headers: s.headers, ip: `10.1.0.${i}` })).status, 200);
    }
    const r = await gw.call("GET", "/v1/me", { headers: s.headers, ip: "10.1.0.9" });
    assert.equal(r.status, 429);
    assert.match(r.json.detail, /user limit is 3/);
    const other = await gw.signup(undefined);
    assert.equal((await gw.call("GET", "/v1/me", { headers: other.headers, ip: "10.2.0.1" })).status, 200);
  });

  await t.step("rejections are counted in /metrics", async () => {
    const m = await gw.call("GET", "/metrics", { ip: "10.9.9.9" });
    assert.match(m.text, /kalency_gateway_rate_limited_total\{scope="ip"\} 1/);
    assert.match(m.text, /kalency_gateway_rate_limited_total\{scope="user"\} 1/);
  });
});

Deno.test("rate limits can be switched off", async () => {
  await using gw = await gatewayFixture({ settings: { rateLimit: false } });
  for (let i = 0; i < 20; i++) {
    assert.equal((await gw.call("GET", "/v1/markets", { ip: "10.0.0.1" })).status, 200);
  }
});
