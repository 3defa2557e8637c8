import assert from "node:assert/strict";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { redisFixture } from "@lib/testing";
import { apiKeySignature } from "@lib/users";
import { RateLimiter, SHARED_WAIT_MS } from "./rate_limit.ts";
import type { RedisClient } from "@lib/redis";
import { FAILED_LOGINS_PER_ACCOUNT, FAILED_LOGINS_PER_ADDRESS } from "./routes/auth.ts";
import { gatewayFixture } from "./testing.ts";

// an hour-long window, so no window boundary falls inside the test
const limits = { windowMs: 3_600_000, ip: 5, user: 3, auth: 2 };

/** A limiter on a test prefix, as each gateway process has one (an hour-long window). */
function sharedLimiter(rf: { redis: RedisClient; prefix: string }, syncMs: number): RateLimiter {
  return new RateLimiter({
    redis: rf.redis,
    prefix: rf.prefix,
    windowMs: 3_600_000,
    log: createLogger("rl-test", { level: "error" }),
    rejected: new Registry().counter("rejected", "refused"),
    syncMs,
  });
}

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
    // health and metrics are never limited: a monitor polls them from one address, and an
    // address over its limit must still see the gateway's real state
    for (const path of ["/healthz", "/metrics"]) {
      for (let i = 0; i < 7; i++) {
        const ops = await gw.call("GET", path, { ip: "10.0.0.1" });
        assert.notEqual(ops.status, 429, `${path} ${i}`);
      }
    }
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

  await t.step("forged credentials are limited like password guesses, in a bucket of their own", async () => {
    const forged = { authorization: "Bearer x.y.z" };
    for (let i = 0; i < 2; i++) {
      assert.equal((await gw.call("GET", "/v1/me", { headers: forged, ip: "10.0.0.5" })).status, 401);
    }
    const r = await gw.call("GET", "/v1/me", { headers: forged, ip: "10.0.0.5" });
    assert.equal(r.status, 429, "guessing tokens or keys is limited like guessing passwords");
    assert.match(r.json.detail, /credentials limit/);
    const unknownKey = await gw.call("GET", "/v1/me", {
      headers: { "x-api-key": "ak_0000000000000000", "x-timestamp": String(Date.now()), "x-signature": "00" },
      ip: "10.0.0.5",
    });
    assert.equal(unknownKey.status, 429, "an unknown key id costs a lookup: limited too");
    const login = await gw.call("POST", "/v1/auth/login", {
      body: { username: "nobody", password: "wrong-password" },
      ip: "10.0.0.5",
    });
    assert.equal(login.status, 401, "logins keep their own allowance");
  });

  await t.step(
    "missing or expired credentials are no guesses, and logins do not use up key requests",
    async () => {
      for (let i = 0; i < 5; i++) {
        assert.equal((await gw.call("GET", "/v1/me", { ip: "10.0.0.6" })).status, 401);
      }
      const body = { username: "nobody", password: "wrong-password" };
      assert.equal((await gw.call("POST", "/v1/auth/login", { body, ip: "10.0.0.6" })).status, 401);
      for (let i = 0; i < 3; i++) await gw.call("POST", "/v1/auth/login", { body, ip: "10.0.0.7" });
      const su = await gw.call("POST", "/v1/auth/signup", {
        body: { username: "key-holder", password: "password-123" },
        ip: "10.0.0.9",
      });
      const headers = { authorization: `Bearer ${su.json.accessToken}` };
      const key = await gw.call("POST", "/v1/api-keys", { headers, body: {}, ip: "10.0.0.8" });
      assert.equal(key.status, 201, key.text);
      const path = "/v1/me";
      const ts = Date.now();
      const signature = await apiKeySignature(key.json.secret, {
        timestamp: ts,
        method: "GET",
        path,
        query: "",
        body: "",
      });
      const signedMe = await gw.call("GET", path, {
        headers: { "x-api-key": key.json.keyId, "x-timestamp": String(ts), "x-signature": signature },
        ip: "10.0.0.7",
      });
      assert.equal(signedMe.status, 200, "an address over its login limit still makes genuine key requests");
    },
  );
});

Deno.test("rate limits can be switched off", async () => {
  await using gw = await gatewayFixture({ settings: { rateLimit: false } });
  for (let i = 0; i < 20; i++) {
    assert.equal((await gw.call("GET", "/v1/markets", { ip: "10.0.0.1" })).status, 200);
  }
});

Deno.test("rate limits decide locally and share counts between processes at each sync", async () => {
  await using rf = await redisFixture("rl");
  const [a, b] = [sharedLimiter(rf, 10), sharedLimiter(rf, 10)];
  try {
    const bucket = [{ scope: "ip", id: "10.0.0.1", limit: 10 }];
    for (let i = 0; i < 6; i++) a.check(bucket); // no await: no round trip per request
    await a.sync();
    await b.sync();
    // b has not counted anything yet, so it learns a's total on its first request's sync
    b.check(bucket);
    await b.sync();
    for (let i = 0; i < 3; i++) b.check(bucket); // 6 + 1 + 3 = 10
    assert.throws(() => b.check(bucket), (e: Error & { status?: number }) => e.status === 429);
    await b.sync();
    // a learns the others' requests with its next sync: up to one sync period of slack
    a.check(bucket);
    await a.sync();
    assert.throws(() => a.check(bucket), (e: Error & { status?: number }) => e.status === 429);
    await a.close();
    await b.close();
    const keys = await rf.redis.keys(`${rf.prefix}:gw:rl:ip:10.0.0.1:*`);
    assert.equal(Number(await rf.redis.get(keys[0])), 13, "every request counted once in Redis");
    assert.ok((await rf.redis.pTTL(keys[0])) > 0, "the window's key expires");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("failed logins are limited per account and address, and per account from all addresses", async () => {
  // address limits high enough for the account limits to be the ones met
  const loginLimits = { windowMs: 3_600_000, ip: 1000, user: 1000, auth: 1000 };
  await using gw = await gatewayFixture({ settings: { rateLimit: loginLimits } });
  await gw.call("POST", "/v1/auth/signup", {
    body: { username: "victim", password: "password-123" },
    ip: "10.3.0.250",
  });
  const wrong = { username: "victim", password: "guess-guess" };
  for (let i = 0; i < FAILED_LOGINS_PER_ADDRESS; i++) {
    const r = await gw.call("POST", "/v1/auth/login", { body: wrong, ip: "10.3.0.1" });
    assert.equal(r.status, 401, `guess ${i}`);
  }
  // one more failure from that address goes over; from then on even the right password waits
  const over = await gw.call("POST", "/v1/auth/login", { body: wrong, ip: "10.3.0.1" });
  assert.equal(over.status, 429);
  assert.match(over.json.detail, /failed logins to this account from this address is 10/);
  const fromThere = { body: { username: "victim", password: "password-123" }, ip: "10.3.0.1" };
  assert.equal((await gw.call("POST", "/v1/auth/login", fromThere)).status, 429);
  // the owner, from another address, is not locked out by someone else's guesses
  const owner = await gw.call("POST", "/v1/auth/login", {
    body: { username: "victim", password: "password-123" },
    ip: "10.3.0.2",
  });
  assert.equal(owner.status, 200, owner.text);

  // guesses from many addresses meet the account's own limit (its count is set near the limit
  // here rather than reached with a hundred password checks)
  const [{ user_id: victimId }] = await gw.sql`SELECT user_id FROM users WHERE username = 'victim'`;
  const window = Math.floor(Date.now() / loginLimits.windowMs);
  await gw.redis.set(`${gw.prefix}:gw:rl:login-account:${victimId}:${window}`, FAILED_LOGINS_PER_ACCOUNT);
  const spread = await gw.call("POST", "/v1/auth/login", { body: wrong, ip: "10.3.0.99" });
  assert.equal(spread.status, 429);
  assert.match(spread.json.detail, /failed logins to this account from all addresses is 100/);
  // however the account is spelled (any case, the user id, a letter that lower-cases differently
  // in PostgreSQL), from any address
  for (const [i, username] of ["VICTIM", "vİctim", victimId].entries()) {
    const locked = await gw.call("POST", "/v1/auth/login", {
      body: { username, password: "password-123" },
      ip: `10.3.0.${200 + i}`,
    });
    assert.equal(locked.status, 429, `${username}: ${locked.text}`);
  }
  const token = await gw.call("POST", "/v1/auth/token", {
    body: { userId: "victim", password: "password-123" },
    ip: "10.3.0.210",
  });
  assert.equal(token.status, 429, "the original token route counts the same");
  await gw.call("POST", "/v1/auth/signup", {
    body: { username: "bystander", password: "password-123" },
    ip: "10.3.0.251",
  });
  const ok = await gw.call("POST", "/v1/auth/login", {
    body: { username: "bystander", password: "password-123" },
    ip: "10.3.0.1",
  });
  assert.equal(ok.status, 200, "other accounts are not affected, from the same address either");
  // a name no account has answers the same way, so the answers do not tell which accounts exist
  const ghost = { username: "no-such-user", password: "guess-guess" };
  for (let i = 0; i < FAILED_LOGINS_PER_ADDRESS; i++) {
    const r = await gw.call("POST", "/v1/auth/login", { body: ghost, ip: "10.4.0.1" });
    assert.equal(r.status, 401, `ghost guess ${i}`);
  }
  const ghostOver = await gw.call("POST", "/v1/auth/login", { body: ghost, ip: "10.4.0.1" });
  assert.equal(ghostOver.status, 429);
  assert.match(ghostOver.json.detail, /from this address is 10/);
});

Deno.test("login limits are exact across processes: a burst split over two gateways meets one limit", async () => {
  await using rf = await redisFixture("rl");
  // no sync during the test: what is exact must not depend on one
  const [a, b] = [sharedLimiter(rf, 60_000), sharedLimiter(rf, 60_000)];
  try {
    const bucket = { scope: "auth", id: "10.9.0.1", limit: 30 };
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).checkShared([bucket])),
    );
    assert.equal(
      results.filter((r) => r.status === "fulfilled").length,
      30,
      "30 of 60 pass, not 30 per process",
    );
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.equal(refused.reason.status, 429);
    // each process sees the other's count at once
    const account = { scope: "login", id: "u-1", limit: 2 };
    assert.equal(await a.isOverShared(account), false);
    await b.checkShared([account]);
    await b.checkShared([account]);
    assert.equal(await a.isOverShared(account), false, "at the limit, not over it");
    await assert.rejects(b.checkShared([account]), (e: Error & { status?: number }) => e.status === 429);
    assert.equal(await a.isOverShared(account), true, "a sees b's failures without a sync");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("login limits fall back to local counts while Redis does not answer", async () => {
  await using rf = await redisFixture("rl");
  const options = {
    redis: {
      scriptLoad: () => Promise.reject(new Error("connect ECONNREFUSED")),
      get: () => Promise.reject(new Error("connect ECONNREFUSED")),
    } as unknown as typeof rf.redis,
    prefix: rf.prefix,
    windowMs: 3_600_000,
    log: createLogger("rl-test", { level: "error" }),
    rejected: new Registry().counter("rejected", "refused"),
    syncMs: 60_000,
  };
  const limiter = new RateLimiter(options);
  try {
    const bucket = { scope: "login", id: "u-2", limit: 2 };
    await limiter.checkShared([bucket]);
    await limiter.checkShared([bucket]);
    assert.equal(await limiter.isOverShared(bucket), false);
    await assert.rejects(limiter.checkShared([bucket]), (e: Error & { status?: number }) => e.status === 429);
    assert.equal(await limiter.isOverShared(bucket), true);
    // the counts reach Redis once it answers
    options.redis = rf.redis;
    await limiter.sync();
    const keys = await rf.redis.keys(`${rf.prefix}:gw:rl:login:u-2:*`);
    assert.equal(Number(await rf.redis.get(keys[0])), 3);
  } finally {
    await limiter.close();
  }
});

Deno.test("login limits decide locally when Redis holds the connection open but does not answer", async () => {
  let stalled = true;
  // stalled: never answers; afterwards refuses at once, so that close() can end
  const never = () => stalled ? new Promise<never>(() => {}) : Promise.reject(new Error("connection reset"));
  const limiter = new RateLimiter({
    redis: { scriptLoad: never, evalSha: never, get: never } as unknown as RedisClient,
    prefix: "rl-stalled",
    windowMs: 3_600_000,
    log: createLogger("rl-test", { level: "error" }),
    rejected: new Registry().counter("rejected", "refused"),
    syncMs: 60_000,
  });
  const bucket = { scope: "auth", id: "10.9.9.9", limit: 1 };
  const t0 = performance.now();
  await limiter.checkShared([bucket]);
  assert.equal(await limiter.isOverShared(bucket), false);
  await assert.rejects(limiter.checkShared([bucket]), (e: Error & { status?: number }) => e.status === 429);
  assert.ok(performance.now() - t0 < 4 * SHARED_WAIT_MS + 1000, "each answer within the wait, not never");
  stalled = false;
  await limiter.close();
});

Deno.test("rate limits: a Redis that does not answer is logged once, and once when it answers again", async () => {
  await using rf = await redisFixture("rl");
  const lines: string[] = [];
  const options = {
    redis: {
      scriptLoad: () => Promise.reject(new Error("connect ECONNREFUSED")),
    } as unknown as typeof rf.redis,
    prefix: rf.prefix,
    windowMs: 60_000,
    log: createLogger("rl-test", { level: "info", pretty: false, write: (l) => lines.push(l) }),
    rejected: new Registry().counter("rejected", "refused"),
    syncMs: 10,
  };
  const limiter = new RateLimiter(options);
  const bucket = [{ scope: "ip", id: "10.0.0.9", limit: 100 }];
  try {
    for (let i = 0; i < 20; i++) { // a sync every 50 ms for a second of outage
      limiter.check(bucket);
      await limiter.sync();
    }
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /rate limit counts not synced/);
    options.redis = rf.redis;
    await limiter.sync();
    assert.equal(lines.length, 2);
    assert.match(lines[1], /synced again/);
    const keys = await rf.redis.keys(`${rf.prefix}:gw:rl:ip:10.0.0.9:*`);
    assert.equal(Number(await rf.redis.get(keys[0])), 20, "the counts kept through the outage");
  } finally {
    await limiter.close();
  }
});
