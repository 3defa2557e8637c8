import assert from "node:assert/strict";
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { API_SECURITY_HEADERS, SECURE_HEADERS } from "./app.ts";
import { gatewayFixture } from "./testing.ts";
import { openApiPath } from "./openapi.ts";
import { SIGNING_EXAMPLES } from "./signing_guide.ts";
import { apiKeySignature, canonicalRequest } from "@lib/users";

Deno.test("createApp() documents every registered route in /v1/openapi.json", async () => {
  await using gw = await gatewayFixture({ feed: true });
  const r = await gw.call("GET", "/v1/openapi.json");
  assert.equal(r.status, 200);
  assert.equal(r.json.openapi, "3.1.0");
  const documented = new Set<string>();
  for (const [path, ops] of Object.entries(r.json.paths as Record<string, object>)) {
    for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${path}`);
  }
  const registered = gw.app.routes.filter((x) => x.method !== "ALL");
  assert.ok(registered.length > 30);
  for (const route of registered) {
    assert.ok(
      documented.has(`${route.method} ${openApiPath(route.path)}`),
      `${route.method} ${route.path} is not in the OpenAPI document`,
    );
  }
  for (const ws of ["/v1/ws", "/ws/trades/{symbol}", "/ws/ticks/{symbol}"]) {
    assert.ok(documented.has(`GET ${ws}`), `${ws} is not documented`);
  }
  // the API's root, which the README and up's banner give, says where to go
  const root = await gw.call("GET", "/v1");
  assert.equal(root.status, 200);
  assert.equal(root.json.openapi, "/v1/openapi.json");
  assert.equal(root.json.docs, "/docs");
  const place = r.json.paths["/v1/orders"].post;
  assert.equal(place["x-auth"], "user");
  assert.ok(place.requestBody.content["application/json"].schema.properties.price);
  assert.ok(place.responses["201"].content["application/json"].schema.properties.orderId);
  // errors are documented per route, each as a problem document
  const problem = (
    op: { responses: Record<string, { content?: Record<string, unknown> }> },
    status: string,
  ) => op.responses[status]?.content?.["application/problem+json"];
  for (const status of ["400", "401", "403", "404", "409", "413", "422", "429", "503", "504"]) {
    assert.ok(problem(place, status), status);
  }
  assert.match(
    place.responses["403"].description,
    /USER_MISMATCH/,
    "users may place orders: only as themselves",
  );
  assert.ok(problem(r.json.paths["/v1/orders/{orderId}"].get, "404"), "a path naming a thing can miss");
  assert.ok(problem(r.json.paths["/v1/orders/open"].get, "404"), "so can a symbol filter");
  assert.equal(problem(r.json.paths["/v1/me"].get, "404"), undefined);
  assert.ok(problem(r.json.paths["/v1/auth/login"].post, "401"), "a wrong password");
  assert.ok(problem(r.json.paths["/v1/auth/signup"].post, "409"), "a taken username");
  assert.ok(problem(r.json.paths["/v1/auth/refresh"].post, "401"), "a revoked or reused refresh token");
  assert.ok(problem(r.json.paths["/v1/auth/logout"].post, "401"), "logout everywhere needs a login");
  assert.ok(problem(r.json.paths["/v1/api-keys"].post, "403"), "keys are not made with keys");
  const simStatus = r.json.paths["/v1/admin/sim/status"].get;
  assert.ok(problem(simStatus, "403"), "admin routes answer 403 to users");
  assert.equal(problem(r.json.paths["/v1/markets"].get, "401"), undefined, "market data is public");
  // the simulator's status passes fields it adds later: a strict schema would reject real answers
  const schema = simStatus.responses["200"].content["application/json"].schema;
  assert.notEqual(schema.additionalProperties, false);
  assert.ok(schema.properties.volatility && schema.properties.intervalMs);
  const symbolSchema = schema.properties.symbols.items;
  assert.notEqual(symbolSchema.additionalProperties, false, "per-symbol fields pass too");
  // every answer may gain fields (compatibility.md): no response schema is closed
  assert.ok(!JSON.stringify(r.json.paths).includes('"additionalProperties":false'), "closed response schema");
  assert.equal(problem(r.json.paths["/healthz"].get, "429"), undefined, "health checks are not rate limited");
  const order = r.json.paths["/v1/orders"].post.requestBody.content["application/json"].schema;
  assert.deepEqual(order.properties.price.anyOf, [{ type: "string" }, { type: "number" }], "no {} branch");
  assert.ok(symbolSchema.properties.profile && symbolSchema.properties.volatility);
});

Deno.test("every path template's parameters are declared, WebSocket routes too, with their refusals", async () => {
  await using gw = await gatewayFixture({ feed: true });
  const doc = (await gw.call("GET", "/v1/openapi.json")).json;
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(ops)) {
      const declared = (op.parameters ?? []).filter((p: any) => p.in === "path").map((p: any) => p.name);
      assert.deepEqual(declared.sort(), templated.sort(), `${method.toUpperCase()} ${path} path parameters`);
    }
  }
  const problem = (op: any, status: string) => op.responses[status]?.content?.["application/problem+json"];
  const trades = doc.paths["/ws/trades/{symbol}"].get;
  assert.equal(trades.summary, "WebSocket /ws/trades/{symbol}");
  for (const status of ["400", "404", "426"]) assert.ok(problem(trades, status), `/ws/trades ${status}`);
  const v1 = doc.paths["/v1/ws"].get;
  for (const status of ["400", "426"]) assert.ok(problem(v1, status), `/v1/ws ${status}`);
  assert.equal(problem(v1, "404"), undefined, "/v1/ws names nothing that can be missing");
});

Deno.test("every route that waits for the engine lists its 504, and funding lists its unknown user", async () => {
  await using gw = await gatewayFixture();
  const doc = (await gw.call("GET", "/v1/openapi.json")).json;
  const problem = (op: any, status: string) => op.responses[status]?.content?.["application/problem+json"];
  for (
    const [method, path] of [
      ["post", "/v1/orders"],
      ["delete", "/v1/orders"],
      ["delete", "/v1/orders/{orderId}"],
      ["get", "/v1/wallet"],
      ["post", "/v1/admin/symbols/{symbol}/pause"],
      ["post", "/v1/admin/symbols/{symbol}/resume"],
      ["post", "/v1/admin/symbols/{symbol}/ensure"],
      ["post", "/v1/admin/wallets/fund"],
    ]
  ) {
    assert.ok(problem(doc.paths[path][method], "504"), `${method.toUpperCase()} ${path} 504`);
  }
  assert.equal(problem(doc.paths["/v1/markets"].get, "504"), undefined, "market reads never wait for it");
  assert.match(doc.paths["/v1/admin/wallets/fund"].post.responses["404"].description, /UNKNOWN_USER/);
});

Deno.test("GET /docs renders every operation without external resources", async () => {
  await using gw = await gatewayFixture();
  const r = await gw.call("GET", "/docs");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /text\/html/);
  assert.match(r.text, /\/v1\/orders\/\{orderId\}/);
  assert.match(r.text, /\/v1\/auth\/signup/);
  assert.doesNotMatch(r.text, /<script[^>]+src=|https?:\/\/cdn/);
  assert.match(r.text, /<section id="auth"><h2>Authentication<\/h2>/);
  assert.match(r.text, /X-Signature {4}lowercase hex HMAC-SHA256/, "how to sign, in the API's own docs");
});

Deno.test("the signing examples of /docs and docs/auth.md are what the signing code gives", async () => {
  await using gw = await gatewayFixture();
  const doc = (await gw.call("GET", "/v1/openapi.json")).json;
  const guide: string = doc.components.securitySchemes.apiKey.description;
  const authMd = await Deno.readTextFile(new URL("../../docs/auth.md", import.meta.url));
  for (const { secret, signature, ...request } of SIGNING_EXAMPLES) {
    assert.equal(await apiKeySignature(secret, request), signature, `${request.method} ${request.path}`);
    assert.ok(guide.includes(`X-Signature: ${signature}`), `${signature} in the OpenAPI document`);
    assert.ok(authMd.includes(signature), `${signature} in docs/auth.md`);
    const canonical = canonicalRequest(request).replaceAll("\n", "\\n");
    assert.ok(guide.includes(canonical), `the canonical string ${canonical} in the OpenAPI document`);
  }
});

Deno.test("errors are problem+json: unknown route 404, malformed JSON 400, body too large 413", async (t) => {
  await using gw = await gatewayFixture({ settings: { bodyLimitBytes: 2048 } });
  await t.step("unknown route", async () => {
    const r = await gw.call("GET", "/v1/nope");
    assert.equal(r.status, 404);
    assert.match(r.headers.get("content-type")!, /application\/problem\+json/);
    assert.equal(r.json.code, "ROUTE_NOT_FOUND");
    assert.equal(r.json.status, 404);
    assert.ok(r.json.type && r.json.title && r.json.detail);
  });
  await t.step("a known path with another method is 405 with Allow", async () => {
    const put = await gw.call("PUT", "/v1/orders");
    assert.equal(put.status, 405);
    assert.equal(put.json.code, "METHOD_NOT_ALLOWED");
    assert.equal(put.headers.get("allow"), "DELETE, OPTIONS, POST");
    const patch = await gw.call("PATCH", "/v1/orders/ord-1");
    assert.equal(patch.status, 405);
    assert.equal(patch.headers.get("allow"), "DELETE, GET, HEAD, OPTIONS");
    assert.match(patch.json.detail, /PATCH is not allowed on \/v1\/orders\/ord-1/);
    assert.equal((await gw.call("GET", "/v1/nope/deeper")).status, 404);
    assert.equal((await gw.call("PUT", "/v1/orders/")).status, 405, "a trailing slash is the same path");
  });
  await t.step("a trailing slash reaches the route, as the original's router allowed", async () => {
    const r = await gw.call("GET", "/v1/markets/");
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json));
  });
  await t.step("malformed JSON", async () => {
    const r = await gw.call("POST", "/v1/auth/login", { body: "{nope" });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, "MALFORMED_JSON");
  });
  await t.step("malformed JSON sent as a form says how it was sent", async () => {
    const r = await gw.call("POST", "/v1/auth/login", {
      body: "username=a&password=b",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, "MALFORMED_JSON");
    assert.match(r.json.detail, /sent as application\/x-www-form-urlencoded/);
    assert.match(r.json.detail, /Content-Type: application\/json/);
  });
  await t.step("a NUL character is a 400 naming the field, in a body, a path or a query", async () => {
    const login = await gw.call("POST", "/v1/auth/login", {
      body: '{"username":"a\\u0000b","password":"xxxxxxxxxx"}',
    });
    assert.equal(login.status, 400);
    assert.equal(login.json.code, "VALIDATION_FAILED");
    assert.equal(login.json.field, "username");
    assert.match(login.json.detail, /NUL/);
    const s = await gw.signup();
    const order = await gw.call("GET", "/v1/orders/%00abc", { headers: s.headers });
    assert.equal(order.status, 400);
    assert.equal(order.json.field, "orderId");
    const query = await gw.call("GET", "/v1/orders/open?symbol=BTC%00-USD", { headers: s.headers });
    assert.equal(query.status, 400);
    assert.equal(query.json.field, "symbol");
  });
  await t.step("validation lists fields", async () => {
    const r = await gw.call("POST", "/v1/auth/login", { body: { username: 5 } });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, "VALIDATION_FAILED");
    assert.deepEqual(r.json.errors.map((e: { field: string }) => e.field).sort(), ["password", "username"]);
  });
  await t.step("messages name the field and what is allowed", async () => {
    const s = await gw.signup();
    const r = await gw.call("POST", "/v1/orders", {
      headers: s.headers,
      body: { side: "HOLD", type: "LIMIT", price: true, qty: "1" },
    });
    assert.equal(r.status, 400);
    const by = Object.fromEntries(
      r.json.errors.map((e: { field: string; message: string }) => [e.field, e.message]),
    );
    assert.equal(by.symbol, "is required (string)");
    assert.match(by.side, /expected one of "BUY"\|"SELL"/);
    assert.match(by.price, /decimal, as a string like "12.5" or a JSON number/);
    assert.match(r.json.detail, /^symbol: is required \(string\) \(and 2 more\)$/);
    const empty = await gw.call("POST", "/v1/orders", {
      headers: s.headers,
      body: { symbol: "BTC-USD", side: "BUY", type: "LIMIT", price: "", qty: 1e32 },
    });
    const why = Object.fromEntries(
      empty.json.errors.map((e: { field: string; message: string }) => [e.field, e.message]),
    );
    assert.match(why.price, /^must not be empty: give a decimal like "12.5"$/);
    assert.match(why.qty, /^is a JSON number with an exponent \(1e\+32\); write it out/);
    // a JSON number is read from the digits sent, not from the double they round to
    const digits = await gw.call("POST", "/v1/orders", {
      headers: s.headers,
      body: '{"symbol":"BTC-USD","side":"BUY","type":"LIMIT","price":59999.999999999999999,"qty":0.01e0}',
    });
    const said2 = Object.fromEntries(
      digits.json.errors.map((e: { field: string; message: string }) => [e.field, e.message]),
    );
    assert.deepEqual(
      Object.keys(said2),
      ["qty"],
      "the price's digits are valid, only the exponent is refused",
    );
    assert.match(said2.qty, /^is a JSON number with an exponent \(0\.01e0\)/);
    const signup = await gw.call("POST", "/v1/auth/signup", { body: { username: "", password: "x" } });
    const said = Object.fromEntries(
      signup.json.errors.map((e: { field: string; message: string }) => [e.field, e.message]),
    );
    assert.equal(said.username, "must not be empty");
  });
  await t.step("body limit", async () => {
    const r = await gw.call("POST", "/v1/auth/login", {
      body: { username: "x".repeat(5000), password: "p" },
    });
    assert.equal(r.status, 413);
    assert.equal(r.json.code, "PAYLOAD_TOO_LARGE");
    // a body without a Content-Length (chunked) is measured as it is read
    const chunked = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < text.length; i += 1000) {
            c.enqueue(new TextEncoder().encode(text.slice(i, i + 1000)));
          }
          c.close();
        },
      });
    const big = await gw.app.request("/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunked(JSON.stringify({ username: "x".repeat(5000), password: "p" })),
      duplex: "half",
    } as RequestInit);
    assert.equal(big.status, 413);
    assert.equal((await big.json()).code, "PAYLOAD_TOO_LARGE");
    const small = await gw.app.request("/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunked(JSON.stringify({ username: "nobody-here", password: "not-the-password" })),
      duplex: "half",
    } as RequestInit);
    assert.equal(small.status, 401, "read in full and handled");
    assert.ok(small.headers.get("x-request-id"));
    // an Upgrade header does not make a request skip the limit (or the headers)
    const upgrades: Record<string, string>[] = [{ upgrade: "websocket" }, {
      upgrade: "WebSocket",
      connection: "Upgrade",
    }];
    for (const headers of upgrades) {
      const sneaky = await gw.call("POST", "/v1/auth/login", {
        headers,
        body: { username: "x".repeat(5000), password: "p" },
      });
      assert.equal(sneaky.status, 413, JSON.stringify(headers));
      assert.ok(sneaky.headers.get("x-request-id"));
    }
    // an upgrade is a GET: any other method on a WebSocket path is refused before it reaches one
    for (const method of ["HEAD", "POST", "PUT"]) {
      const r = await gw.app.request("/v1/ws", {
        method,
        headers: { upgrade: "websocket", connection: "Upgrade" },
      });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get("allow"), "GET");
      assert.ok(r.headers.get("x-request-id"));
    }
  });
});

Deno.test("CORS preflight and security headers are set", async () => {
  await using gw = await gatewayFixture({ settings: { corsOrigins: ["https://app.example"] } });
  const pre = await gw.app.request("/v1/orders", {
    method: "OPTIONS",
    headers: {
      origin: "https://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "x-signature",
    },
  });
  await pre.body?.cancel();
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example");
  assert.match(pre.headers.get("access-control-allow-headers") ?? "", /X-Signature/i);
  const r = await gw.call("GET", "/v1/markets", { headers: { origin: "https://app.example" } });
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
  assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example");
  assert.match(r.headers.get("vary") ?? "", /Origin/);
  assert.ok(r.headers.get("x-request-id"));
  const other = await gw.call("GET", "/v1/markets", { headers: { origin: "https://evil.example" } });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  // problems carry the same headers, and a usable client request id is echoed
  const missing = await gw.call("GET", "/v1/nowhere", { headers: { "x-request-id": "abc-123" } });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("x-request-id"), "abc-123");
  assert.equal(missing.headers.get("x-frame-options"), "SAMEORIGIN");
  // API responses carry the security headers that concern them; the HTML page carries every one
  assert.deepEqual(
    API_SECURITY_HEADERS.map(([name]) => [name, r.headers.get(name)]),
    API_SECURITY_HEADERS.map(([name, value]) => [name, value]),
  );
  assert.equal(r.headers.get("x-dns-prefetch-control"), null, "a document-only header");
  const docs = await gw.call("GET", "/docs");
  for (const [name, value] of SECURE_HEADERS) assert.equal(docs.headers.get(name), value, name);
});

Deno.test("the fixed security headers are those hono/secure-headers sets with the same options", async () => {
  const reference = new Hono();
  reference.use(
    secureHeaders({ crossOriginResourcePolicy: "cross-origin", crossOriginEmbedderPolicy: false }),
  );
  reference.get("/", (c) => c.body(null, 204));
  const r = await reference.request("/");
  assert.deepEqual(new Map(r.headers), new Map(SECURE_HEADERS));
});

Deno.test("/healthz reports each dependency and /metrics counts requests by route pattern", async () => {
  await using gw = await gatewayFixture();
  const h = await gw.call("GET", "/healthz");
  assert.equal(h.status, 200);
  assert.deepEqual(Object.keys(h.json.checks).sort(), ["engine", "postgres", "redis", "replyReader"]);
  await gw.call("GET", "/v1/markets/BTC-USD/book");
  await gw.call("GET", "/v1/nowhere");
  // made-up methods share one series instead of making one each
  for (const method of ["BREW1", "BREW2"]) await gw.call(method, "/v1/markets");
  const m = await gw.call("GET", "/metrics");
  assert.doesNotMatch(m.text, /BREW/);
  assert.match(m.text, /kalency_http_requests_total\{method="OTHER",route="[^"]*",status="\d+"\} 2/);
  assert.match(
    m.text,
    /kalency_http_requests_total\{method="GET",route="\/v1\/markets\/:symbol\/book",status="404"\} 1/,
  );
  assert.match(m.text, /kalency_http_request_duration_seconds_bucket\{[^}]*route="unmatched"/);
  assert.match(m.text, /kalency_gateway_pending_replies/);
});

Deno.test("public market reads are reused for the cache window, still counted per route", async () => {
  await using gw = await gatewayFixture({ settings: { readCacheMs: 2000 } });
  const { DEFAULT_MARKETS, keys } = await import("@lib/contracts");
  for (const m of DEFAULT_MARKETS) await gw.redis.hSet(keys.markets(gw.prefix), m.symbol, JSON.stringify(m));
  const book = (bid: string) =>
    JSON.stringify({
      symbol: "BTC-USD",
      seq: 1,
      bids: [{ price: bid, qty: "1", orders: 1 }],
      asks: [],
      ts: 1,
    });
  await gw.redis.set(keys.book(gw.prefix, "BTC-USD"), book("100"));
  const first = await gw.call("GET", "/v1/markets/BTC-USD/book");
  await gw.redis.set(keys.book(gw.prefix, "BTC-USD"), book("101"));
  const second = await gw.call("GET", "/v1/markets/BTC-USD/book");
  assert.equal(second.json.bids[0].price, "100", "served from the response cache");
  assert.ok(second.headers.get("x-request-id"));
  assert.notEqual(first.headers.get("x-request-id"), second.headers.get("x-request-id"));
  assert.equal(second.headers.get("x-content-type-options"), "nosniff");
  await new Promise((r) => setTimeout(r, 2100));
  const third = await gw.call("GET", "/v1/markets/BTC-USD/book");
  assert.equal(third.json.bids[0].price, "101", "refreshed after the window");
  const m = await gw.call("GET", "/metrics");
  assert.match(
    m.text,
    /kalency_http_requests_total\{method="GET",route="\/v1\/markets\/:symbol\/book",status="200"\} 3/,
  );
});

Deno.test("a reused market read keeps the client's request id and still counts against its rate limit", async () => {
  await using gw = await gatewayFixture({
    settings: { readCacheMs: 60_000, rateLimit: { windowMs: 60_000, ip: 3, user: 100, auth: 100 } },
  });
  const { DEFAULT_MARKETS, keys } = await import("@lib/contracts");
  for (const m of DEFAULT_MARKETS) await gw.redis.hSet(keys.markets(gw.prefix), m.symbol, JSON.stringify(m));
  const first = await gw.call("GET", "/v1/markets", { ip: "203.0.113.5" });
  assert.equal(first.status, 200);
  const second = await gw.call("GET", "/v1/markets", {
    ip: "203.0.113.5",
    headers: { "x-request-id": "client-chosen-id-1" },
  });
  assert.equal(second.status, 200);
  assert.equal(
    second.headers.get("x-request-id"),
    "client-chosen-id-1",
    "a hit answers with the client's id",
  );
  // an unusable id is replaced, as on every other route
  const third = await gw.call("GET", "/v1/markets", {
    ip: "203.0.113.5",
    headers: { "x-request-id": "a b" },
  });
  assert.equal(third.status, 200);
  assert.notEqual(third.headers.get("x-request-id"), "a b");
  const over = await gw.call("GET", "/v1/markets", {
    ip: "203.0.113.5",
    headers: { "x-request-id": "client-chosen-id-2" },
  });
  assert.equal(over.status, 429, "the fourth read of the window is over the limit of 3, cached or not");
  assert.equal(over.headers.get("content-type"), "application/problem+json");
  assert.ok(Number(over.headers.get("retry-after")) > 0);
  assert.equal(over.headers.get("x-request-id"), "client-chosen-id-2");
  assert.equal(over.headers.get("x-content-type-options"), "nosniff");
  assert.equal(over.json.code, "RATE_LIMITED");
  // another address has its own count
  assert.equal((await gw.call("GET", "/v1/markets", { ip: "203.0.113.6" })).status, 200);
  const m = await gw.call("GET", "/metrics", { ip: "203.0.113.7" });
  assert.match(m.text, /kalency_http_requests_total\{method="GET",route="\/v1\/markets",status="200"\} 4/);
  assert.match(m.text, /kalency_http_requests_total\{method="GET",route="\/v1\/markets",status="429"\} 1/);
});
