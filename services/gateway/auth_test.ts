import assert from "node:assert/strict";
import { sign } from "hono/jwt";
import { apiKeySignature, setRole } from "@lib/users";
import { waitFor } from "@lib/testing";
import { gatewayFixture, TEST_JWT_SECRET } from "./testing.ts";
import { TokenService } from "./tokens.ts";

Deno.test("signup, login, token, me: credentials are required and checked", async (t) => {
  await using gw = await gatewayFixture();
  const s = await gw.signup("alice");
  assert.match(s.userId, /^usr_[0-9a-f]{16}$/);

  await t.step("signup answers the documented shape and refuses a taken or bad name", async () => {
    const dup = await gw.call("POST", "/v1/auth/signup", {
      body: { username: "ALICE", password: "password-123" },
    });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.code, "USERNAME_TAKEN");
    const bad = await gw.call("POST", "/v1/auth/signup", {
      body: { username: "bo", password: "password-123" },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, "username");
    const short = await gw.call("POST", "/v1/auth/signup", { body: { username: "carol", password: "pw" } });
    assert.equal(short.status, 400);
    assert.equal(short.json.field, "password");
    // both wrong: both reported in one answer, so a form can show them together
    const both = await gw.call("POST", "/v1/auth/signup", { body: { username: "ab", password: "short" } });
    assert.equal(both.status, 400);
    assert.deepEqual(both.json.errors.map((e: { field: string }) => e.field), ["username", "password"]);
    assert.match(both.json.detail, /username must be 3 to 32 characters.*; password must be 8 to 256/);
    // too long is the same rule as too short, with the same code
    const long = await gw.call("POST", "/v1/auth/signup", {
      body: { username: "d".repeat(65), password: "abc123-".repeat(40) },
    });
    assert.equal(long.status, 400);
    assert.deepEqual(long.json.errors.map((e: { code: string }) => e.code), [
      "INVALID_USERNAME",
      "INVALID_PASSWORD",
    ]);
  });

  await t.step("login", async () => {
    const ok = await gw.call("POST", "/v1/auth/login", {
      body: { username: "alice", password: "password-123" },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(Object.keys(ok.json).sort(), [
      "accessToken",
      "expiresIn",
      "refreshExpiresIn",
      "refreshToken",
      "tokenType",
      "user",
    ]);
    assert.equal(ok.json.tokenType, "Bearer");
    assert.equal(ok.json.expiresIn, 900);
    assert.deepEqual(ok.json.user, { userId: s.userId, username: "alice", role: "user" });
    const wrong = await gw.call("POST", "/v1/auth/login", {
      body: { username: "alice", password: "nope-nope" },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.code, "INVALID_CREDENTIALS");
  });

  await t.step("the original token route needs the password now", async () => {
    const none = await gw.call("POST", "/v1/auth/token", { body: { userId: s.userId } });
    assert.equal(none.status, 400);
    assert.equal(none.json.field, "password");
    const blank = await gw.call("POST", "/v1/auth/token", { body: { userId: " ", password: "x" } });
    assert.equal(blank.status, 400);
    assert.equal(blank.json.field, "userId");
    const ok = await gw.call("POST", "/v1/auth/token", {
      body: { userId: s.userId, password: "password-123" },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.token, ok.json.accessToken);
    const byName = await gw.call("POST", "/v1/auth/token", {
      body: { userId: "alice", password: "password-123" },
    });
    assert.equal(byName.status, 200);
    const bad = await gw.call("POST", "/v1/auth/token", {
      body: { userId: s.userId, password: "wrong-one" },
    });
    assert.equal(bad.status, 401);
  });

  await t.step("me", async () => {
    const me = await gw.call("GET", "/v1/me", { headers: s.headers });
    assert.equal(me.status, 200);
    assert.deepEqual(me.json, { userId: s.userId, username: "alice", role: "user", via: "jwt" });
  });
});

Deno.test("access tokens: missing, malformed, tampered, expired and foreign ones are refused", async (t) => {
  await using gw = await gatewayFixture();
  const s = await gw.signup();
  const cases: [string, Record<string, string>, string][] = [
    ["no credentials", {}, "MISSING_AUTHENTICATION"],
    ["not Bearer", { authorization: "Basic abc" }, "MISSING_BEARER_TOKEN"],
    ["garbage", { authorization: "Bearer abc.def.ghi" }, "INVALID_TOKEN"],
  ];
  const [h, p, sig] = s.accessToken.split(".");
  const payload = JSON.parse(atob(p.replaceAll("-", "+").replaceAll("_", "/")));
  const forged = btoa(JSON.stringify({ ...payload, role: "admin" })).replaceAll("=", "").replaceAll("+", "-")
    .replaceAll("/", "_");
  cases.push(["tampered payload", { authorization: `Bearer ${h}.${forged}.${sig}` }, "INVALID_TOKEN"]);
  const now = Math.floor(Date.now() / 1000);
  const expired = await sign(
    { sub: s.userId, role: "user", iss: "kalency", iat: now - 100, exp: now - 10 },
    TEST_JWT_SECRET,
  );
  cases.push(["expired", { authorization: `Bearer ${expired}` }, "TOKEN_EXPIRED"]);
  const foreign = await sign(
    { sub: s.userId, role: "admin", iss: "kalency", iat: now, exp: now + 60 },
    "another-secret-0123456789",
  );
  cases.push(["other key", { authorization: `Bearer ${foreign}` }, "INVALID_TOKEN"]);
  const noIssuer = await sign({ sub: s.userId, role: "user", iat: now, exp: now + 60 }, TEST_JWT_SECRET);
  cases.push(["no issuer", { authorization: `Bearer ${noIssuer}` }, "INVALID_TOKEN"]);
  const noExpiry = await sign({ sub: s.userId, role: "user", iss: "kalency", iat: now }, TEST_JWT_SECRET);
  cases.push(["no expiry", { authorization: `Bearer ${noExpiry}` }, "INVALID_TOKEN"]);
  const textExpiry = await sign(
    { sub: s.userId, role: "user", iss: "kalency", iat: now, exp: String(now - 10) as unknown as number },
    TEST_JWT_SECRET,
  );
  cases.push(["an expiry that is text", { authorization: `Bearer ${textExpiry}` }, "INVALID_TOKEN"]);
  for (const sub of ["usr_bad/../x", "x".repeat(65), "with space"]) {
    const odd = await sign({ sub, role: "user", iss: "kalency", iat: now, exp: now + 60 }, TEST_JWT_SECRET);
    cases.push([`subject ${sub.slice(0, 12)}`, { authorization: `Bearer ${odd}` }, "INVALID_TOKEN"]);
  }
  // the same signature with the spare bits of its last character set: another spelling of it
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(sig.at(-1)!);
  const respelled = sig.slice(0, -1) + alphabet[last ^ 1];
  cases.push([
    "signature spelled otherwise",
    { authorization: `Bearer ${h}.${p}.${respelled}` },
    "INVALID_TOKEN",
  ]);
  for (const [name, headers, code] of cases) {
    await t.step(name, async () => {
      const r = await gw.call("GET", "/v1/me", { headers });
      assert.equal(r.status, 401);
      assert.equal(r.json.code, code);
      assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer realm="kalency"/);
    });
  }
});

Deno.test("refresh tokens that expired over a day ago are deleted now and then; revoked live ones stay", async () => {
  await using gw = await gatewayFixture();
  const s = await gw.signup();
  await gw.call("POST", "/v1/auth/logout", { body: { refreshToken: s.refreshToken } });
  await gw.sql`INSERT INTO refresh_tokens (token_hash, user_id, expires_at)
               VALUES ('old', ${s.userId}, now() - interval '2 days'), ('recent', ${s.userId}, now() - interval '1 hour')`;
  // every new token counts towards the next prune, refreshes included
  const tokens = new TokenService(gw.sql, {
    secret: TEST_JWT_SECRET,
    accessTtlSec: 60,
    refreshTtlSec: 3600,
    pruneEvery: 2,
  });
  const pair = await tokens.issue({ userId: s.userId, role: "user" });
  await tokens.refresh(pair.refreshToken);
  await waitFor(async () => {
    const [row] = await gw.sql`SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash = 'old'`;
    return row.n === 0;
  }, { what: "the prune after the second new token" });
  const left = await gw.sql`SELECT token_hash FROM refresh_tokens WHERE token_hash IN ('recent', 'old')`;
  assert.deepEqual(
    left.map((r) => r.token_hash),
    ["recent"],
    "a token expired an hour ago may still be reused",
  );
  assert.equal(await gw.tokens.pruneExpired(), 0);
});

Deno.test("two refreshes racing with one token: the winner's new token is signed out too", async () => {
  await using gw = await gatewayFixture();
  for (let round = 0; round < 5; round++) {
    const s = await gw.signup();
    const [a, b] = await Promise.all([
      gw.call("POST", "/v1/auth/refresh", { body: { refreshToken: s.refreshToken } }),
      gw.call("POST", "/v1/auth/refresh", { body: { refreshToken: s.refreshToken } }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 401], `round ${round}: ${a.text} ${b.text}`);
    const winner = a.status === 200 ? a : b;
    const after = await gw.call("POST", "/v1/auth/refresh", {
      body: { refreshToken: winner.json.refreshToken },
    });
    assert.equal(after.status, 401, `round ${round}: a reuse signs out every session, the racing one's too`);
  }
});

Deno.test("refresh rotates the token; reusing an old one signs out every session; logout revokes", async () => {
  await using gw = await gatewayFixture();
  const s = await gw.signup();
  const r1 = await gw.call("POST", "/v1/auth/refresh", { body: { refreshToken: s.refreshToken } });
  assert.equal(r1.status, 200);
  assert.notEqual(r1.json.refreshToken, s.refreshToken);
  assert.equal(r1.json.user.userId, s.userId);
  const [row] = await gw.sql`SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash LIKE 'rt_%'`;
  assert.equal(row.n, 0, "refresh tokens are stored hashed");

  const reuse = await gw.call("POST", "/v1/auth/refresh", { body: { refreshToken: s.refreshToken } });
  assert.equal(reuse.status, 401);
  assert.equal(reuse.json.code, "REFRESH_TOKEN_REUSED");
  const afterTheft = await gw.call("POST", "/v1/auth/refresh", {
    body: { refreshToken: r1.json.refreshToken },
  });
  assert.equal(afterTheft.status, 401, "the rotated token is revoked too");
  assert.equal(afterTheft.json.code, "REFRESH_TOKEN_REVOKED", "it was revoked, never used twice");
  assert.match(afterTheft.json.detail, /earlier refresh token of this user was used twice/);

  const login = await gw.call("POST", "/v1/auth/login", {
    body: { username: s.username, password: "password-123" },
  });
  const out = await gw.call("POST", "/v1/auth/logout", { body: { refreshToken: login.json.refreshToken } });
  assert.equal(out.status, 204);
  const again = await gw.call("POST", "/v1/auth/refresh", {
    body: { refreshToken: login.json.refreshToken },
  });
  assert.equal(again.status, 401);
  assert.equal(again.json.code, "REFRESH_TOKEN_REVOKED");
  assert.match(again.json.detail, /revoked by a logout/);
  const unknown = await gw.call("POST", "/v1/auth/refresh", { body: { refreshToken: "rt_nope" } });
  assert.equal(unknown.json.code, "INVALID_REFRESH_TOKEN");

  const l2 = await gw.call("POST", "/v1/auth/login", {
    body: { username: s.username, password: "password-123" },
  });
  const all = await gw.call("POST", "/v1/auth/logout", {
    body: { all: true },
    headers: { authorization: `Bearer ${l2.json.accessToken}` },
  });
  assert.equal(all.status, 204);
  const gone = await gw.call("POST", "/v1/auth/refresh", { body: { refreshToken: l2.json.refreshToken } });
  assert.equal(gone.status, 401);
  assert.match(gone.json.detail, /every session of this user was signed out/);
});

async function signed(
  secret: string,
  keyId: string,
  method: string,
  path: string,
  body = "",
  ts = Date.now(),
): Promise<{ headers: Record<string, string>; body?: string }> {
  const [p, q = ""] = path.split("?");
  const signature = await apiKeySignature(secret, { timestamp: ts, method, path: p, query: q, body });
  return {
    headers: { "x-api-key": keyId, "x-timestamp": String(ts), "x-signature": signature },
    body: body || undefined,
  };
}

Deno.test("API keys: create once, list without secrets, sign requests, refuse replay and tampering, revoke", async (t) => {
  await using gw = await gatewayFixture();
  const s = await gw.signup();
  const created = await gw.call("POST", "/v1/api-keys", { headers: s.headers, body: { label: "bot" } });
  assert.equal(created.status, 201);
  const { keyId, secret } = created.json;
  assert.match(keyId, /^ak_[0-9a-f]{16}$/);
  assert.ok(secret.length >= 40);
  const [row] = await gw.sql`SELECT secret_hash, salt FROM api_keys WHERE key_id = ${keyId}`;
  assert.notEqual(row.secret_hash, secret);
  assert.ok(!JSON.stringify(row).includes(secret), "the secret is not stored");

  await t.step("list has no secret", async () => {
    const list = await gw.call("GET", "/v1/api-keys", { headers: s.headers });
    assert.equal(list.status, 200);
    assert.equal(list.json.length, 1);
    assert.equal(list.json[0].keyId, keyId);
    assert.equal(list.json[0].secret, undefined);
    assert.equal(list.json[0].lastUsedAt, null, "not used yet");
  });

  await t.step("a signed GET works once; the replay is refused", async () => {
    const req = await signed(secret, keyId, "GET", "/v1/me");
    const ok = await gw.call("GET", "/v1/me", req);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.via, "apiKey");
    assert.equal(ok.json.userId, s.userId);
    const replay = await gw.call("GET", "/v1/me", req);
    assert.equal(replay.status, 401);
    assert.equal(replay.json.code, "REPLAYED_REQUEST");
    assert.match(replay.json.detail, /an X-Timestamp later than the key's last one/);
    // the accepted request is the key's last use
    const used = await waitFor(async () => {
      const list = await gw.call("GET", "/v1/api-keys", { headers: s.headers });
      return list.json[0].lastUsedAt;
    }, { what: "lastUsedAt set" });
    assert.ok(Math.abs(used - Date.now()) < 60_000, `lastUsedAt ${used}`);
  });

  await t.step("a signed POST with a body; an altered body or path is refused", async () => {
    const signedPost = async (path: string, body: unknown) =>
      gw.call("POST", path, await signed(secret, keyId, "POST", path, JSON.stringify(body)));
    const ok = await signedPost("/v1/api-keys", { label: "second" });
    assert.equal(ok.status, 403, "keys are created with a login, not a key");
    assert.equal(ok.json.code, "LOGIN_REQUIRED");
    const out = await signedPost("/v1/auth/logout", { all: true });
    assert.equal(out.status, 403, "a key cannot sign its owner out of every session");
    assert.equal(out.json.code, "LOGIN_REQUIRED");
    const req = await signed(secret, keyId, "POST", "/v1/auth/logout", JSON.stringify({ refreshToken: "a" }));
    const altered = await gw.call("POST", "/v1/orders", { headers: req.headers, body: req.body });
    assert.equal(altered.status, 401);
    assert.equal(altered.json.code, "INVALID_SIGNATURE");
    const q = await signed(secret, keyId, "GET", "/v1/orders/open?symbol=BTC-USD");
    const alteredQuery = await gw.call("GET", "/v1/orders/open?symbol=ETH-USD", q);
    assert.equal(alteredQuery.json.code, "INVALID_SIGNATURE");
    const wrongKey = await gw.call("GET", "/v1/me", await signed("not-the-secret", keyId, "GET", "/v1/me"));
    assert.equal(wrongKey.json.code, "INVALID_SIGNATURE");
  });

  await t.step("timestamps outside the receive window, bad windows and missing signatures", async () => {
    const old = await gw.call(
      "GET",
      "/v1/me",
      await signed(secret, keyId, "GET", "/v1/me", "", Date.now() - 6000),
    );
    assert.equal(old.json.code, "TIMESTAMP_OUTSIDE_WINDOW");
    assert.match(old.json.detail, /is \d+ ms old .*allows 5000 ms/);
    const future = await gw.call(
      "GET",
      "/v1/me",
      await signed(secret, keyId, "GET", "/v1/me", "", Date.now() + 5000),
    );
    assert.equal(future.json.code, "TIMESTAMP_OUTSIDE_WINDOW");
    // inside the 5 s window, but the rule for the future is tighter: the message names that rule
    assert.match(future.json.detail, /ms ahead of the server time .*at most 1000 ms ahead/);
    // a window is signed with the timestamp: the signer may widen it, nobody else
    const ts = Date.now() - 20_000;
    const wideSignature = await apiKeySignature(secret, {
      timestamp: ts,
      recvWindow: 30_000,
      method: "GET",
      path: "/v1/me",
      query: "",
      body: "",
    });
    const wide = { "x-api-key": keyId, "x-timestamp": String(ts), "x-signature": wideSignature };
    const widened = await gw.call("GET", "/v1/me", { headers: { ...wide, "x-recv-window": "30000" } });
    assert.equal(widened.status, 200, widened.text);
    // a window the signature does not cover (as clients signed before it was part of it): taken,
    // but for no longer than the default window, so nobody can stretch a captured request
    const stale = await signed(secret, keyId, "GET", "/v1/me", "", ts);
    const widenedLater = await gw.call("GET", "/v1/me", {
      headers: { ...stale.headers, "x-recv-window": "30000" },
    });
    assert.equal(widenedLater.status, 401, "a window added to a request signed without one");
    assert.equal(widenedLater.json.code, "TIMESTAMP_OUTSIDE_WINDOW");
    assert.match(widenedLater.json.detail, /does not cover allows at most the default 5000 ms/);
    const oldForm = await signed(secret, keyId, "GET", "/v1/me", "", Date.now() - 1000);
    const unsignedWindow = await gw.call("GET", "/v1/me", {
      headers: { ...oldForm.headers, "x-recv-window": "3000" },
    });
    assert.equal(unsignedWindow.status, 200, "within the default window, the old form still works");
    const { "x-timestamp": _, ...noTimestamp } = oldForm.headers;
    const missing = await gw.call("GET", "/v1/me", { headers: noTimestamp });
    assert.equal(missing.json.code, "INVALID_TIMESTAMP");
    assert.match(missing.json.detail, /X-Timestamp is missing/);
    const seconds = await gw.call("GET", "/v1/me", {
      headers: { ...oldForm.headers, "x-timestamp": "1764118000.5" },
    });
    assert.match(seconds.json.detail, /must be milliseconds since the epoch \(digits only\)/);
    const exponent = await gw.call("GET", "/v1/me", { headers: { ...wide, "x-recv-window": "3e4" } });
    assert.equal(exponent.json.code, "INVALID_RECV_WINDOW", "digits only");
    const tooWide = await gw.call("GET", "/v1/me", { headers: { ...wide, "x-recv-window": "90000" } });
    assert.equal(tooWide.json.code, "INVALID_RECV_WINDOW");
    const unsigned = await gw.call("GET", "/v1/me", { headers: { "x-api-key": keyId } });
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.json.code, "SIGNATURE_REQUIRED");
    const unknown = await gw.call(
      "GET",
      "/v1/me",
      await signed(secret, "ak_0000000000000000", "GET", "/v1/me"),
    );
    assert.equal(unknown.json.code, "INVALID_API_KEY");
  });

  await t.step("WebSocket login accepts keyId:secret and access tokens", async () => {
    assert.equal((await gw.auth.token(`${keyId}:${secret}`))?.userId, s.userId);
    assert.equal(await gw.auth.token(`${keyId}:wrong`), undefined);
    assert.equal((await gw.auth.token(s.accessToken))?.userId, s.userId);
    assert.equal(await gw.auth.token("nonsense"), undefined);
  });

  await t.step("revoke", async () => {
    const other = await gw.signup();
    const foreign = await gw.call("DELETE", `/v1/api-keys/${keyId}`, { headers: other.headers });
    assert.equal(foreign.status, 404);
    const del = await gw.call("DELETE", `/v1/api-keys/${keyId}`, { headers: s.headers });
    assert.equal(del.status, 204);
    const after = await gw.call("GET", "/v1/me", await signed(secret, keyId, "GET", "/v1/me"));
    assert.equal(after.status, 401);
    assert.equal(after.json.code, "INVALID_API_KEY");
    const again = await gw.call("DELETE", `/v1/api-keys/${keyId}`, { headers: s.headers });
    assert.equal(again.status, 404);
  });
});

Deno.test("plain X-API-Key works only for API_KEYS entries with legacy keys on", async () => {
  await using off = await gatewayFixture();
  const r = await off.call("GET", "/v1/me", { headers: { "x-api-key": "demo-key" } });
  assert.equal(r.status, 401);
  assert.equal(r.json.code, "INVALID_API_KEY");
  assert.match(r.json.detail, /need KALENCY_LEGACY_API_KEYS=true/);
  await using on = await gatewayFixture({ settings: { legacyKeys: new Map([["demo-key", "demo-user"]]) } });
  const ok = await on.call("GET", "/v1/me", { headers: { "x-api-key": "demo-key" } });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, { userId: "demo-user", username: null, role: "user", via: "legacyKey" });
  const unknown = await on.call("GET", "/v1/me", { headers: { "x-api-key": "other-key" } });
  assert.equal(unknown.status, 401);
  assert.match(
    unknown.json.detail,
    /not one of API_KEYS/,
    "legacy keys are on: the hint to turn them on is wrong",
  );
});

Deno.test("a WebSocket login token is refused, not an error, when the store refuses what it was asked", async () => {
  await using gw = await gatewayFixture();
  // PostgreSQL refuses a NUL in text (an error, but not an unreachable store): a refusal, no log line
  assert.equal(await gw.auth.token("ak_\u0000:x"), undefined);
  assert.equal(await gw.auth.token("not-a-token"), undefined);
  const s = await gw.signup();
  assert.equal((await gw.auth.token(s.accessToken))?.userId, s.userId);
});

Deno.test("API key labels must be printable: no bidi overrides, zero-width or broken characters", async () => {
  await using gw = await gatewayFixture();
  const s = await gw.signup();
  // a label that would pass for another in a list is refused (ordinary text of any script is not)
  for (const label of ["bot\u202Etxt.exe", "isolate\u2066x", "tab\there", "broken \uD800"]) {
    const bad = await gw.call("POST", "/v1/api-keys", { headers: s.headers, body: { label } });
    assert.equal(bad.status, 400, JSON.stringify(label));
    assert.equal(bad.json.field, "label");
  }
  for (const label of ["Ünïcode 机器人 🤖", "👨‍👩‍👧 family", "🏳️‍🌈", "می‌خواهم", "soft\u00ADhyphen"]) {
    const fine = await gw.call("POST", "/v1/api-keys", { headers: s.headers, body: { label } });
    assert.equal(fine.status, 201, `${label}: ${fine.text}`);
  }
});

Deno.test("a demoted admin's access token no longer reads other users' orders or private channels", async () => {
  await using gw = await gatewayFixture();
  const alice = await gw.signup();
  const bob = await gw.signup();
  await setRole(gw.sql, bob.userId, "admin");
  const { accessToken } = await gw.tokens.issue({ userId: bob.userId, role: "admin" });
  await setRole(gw.sql, bob.userId, "user");

  const order = { orderId: "ord-demoted-1", userId: alice.userId, symbol: "BTC-USD", status: "ACCEPTED" };
  await gw.redis.set(`${gw.prefix}:order:${order.orderId}`, JSON.stringify(order));
  const asBob = await gw.call("GET", `/v1/orders/${order.orderId}`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  assert.equal(asBob.status, 404, "the token's admin claim is older than the demotion");
  // the WebSocket login that decides who may watch orders.{userId} and wallet.{userId}
  assert.deepEqual(await gw.auth.token(accessToken), { userId: bob.userId, role: "user", via: "jwt" });

  const admin = await gw.admin();
  assert.equal((await gw.call("GET", `/v1/orders/${order.orderId}`, { headers: admin.headers })).status, 200);
  assert.equal((await gw.auth.token(admin.accessToken))?.role, "admin");
});
