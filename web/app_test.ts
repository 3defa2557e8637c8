import assert from "node:assert/strict";
import { TEST_MARKET } from "./test_market.ts";
import { contentSecurityPolicy, createApp, publicGatewayFor, SECURITY_HEADERS } from "./app.ts";
import { PALETTE_SCRIPT, PALETTE_SCRIPT_HASH } from "./head_script.ts";
import { buildIslands } from "./build.ts";

// Pages that need no gateway data; the gateway address is never contacted.
// esbuild's service process exits asynchronously after esbuild.stop(), which the op and resource
// sanitizers can catch mid-exit on a busy machine
Deno.test({
  name: "createApp() serves the login page with its island, the 404 page and the built assets",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const assetsDir = await Deno.makeTempDir({ prefix: "kalency-app-test-" });
  try {
    const { manifest } = await buildIslands({ outDir: assetsDir });
    const app = await createApp({ gatewayUrl: "http://127.0.0.1:9", assetsDir });
    const defaultPort = await createApp({ gatewayUrl: "http://gateway", assetsDir });
    const other = await (await defaultPort.request("http://example.test:8000/login")).text();
    assert.match(other, /&quot;gatewayUrl&quot;:&quot;http:\/\/example.test:8080&quot;/);

    const login = await app.request("http://example.test:8000/login?next=/wallet");
    assert.equal(login.status, 200);
    const html = await login.text();
    assert.match(html, /<title>Log in · Kalency<\/title>/);
    assert.match(html, /data-island="AuthForm"/);
    // islands get the browser's gateway URL: the page's host with the gateway's port when none is set
    assert.match(html, /&quot;gatewayUrl&quot;:&quot;http:\/\/example.test:9&quot;/);
    assert.match(html, /&quot;next&quot;:&quot;\/wallet&quot;/);
    assert.ok(html.includes(`src="/static/islands/${manifest.islands.AuthForm.file}"`));
    assert.ok(html.includes(`src="/static/islands/${manifest.islands.NavUser.file}"`));
    assert.match(html, /<form class="panel auth-form"/, "the form is in the server markup");
    assertPageHeaders(login);

    // a `next` that leads off the site reaches neither the form nor its login/signup links
    for (
      const next of [
        "%2F%5Cevil.example%2F",
        "%2F%09%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "https://evil.example",
      ]
    ) {
      for (const page of ["login", "signup"]) {
        const res = await app.request(`http://example.test:8000/${page}?next=${next}`);
        const body = await res.text();
        assert.match(body, /&quot;next&quot;:&quot;\/&quot;/, `${page}?next=${next}`);
        assert.doesNotMatch(body, /evil/, `${page}?next=${next}`);
      }
    }
    const kept =
      await (await app.request("http://example.test:8000/signup?next=%2Ftrade%2FBTC-USD%3Ftf%3D1m"))
        .text();
    assert.match(kept, /&quot;next&quot;:&quot;\/trade\/BTC-USD\?tf=1m&quot;/);

    const missing = await app.request("/no-such-page");
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /Page not found/);
    assertPageHeaders(missing);

    const js = await app.request(`/static/islands/${manifest.islands.AuthForm.file}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("cache-control")!, /immutable/);
    assert.equal(js.headers.get("x-content-type-options"), "nosniff");
    await js.body?.cancel();
    const css = await app.request("/static/styles.css");
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type")!, /text\/css/);
    assert.equal(
      css.headers.get("cache-control"),
      "public, max-age=60",
      "an unhashed file is checked again soon",
    );
    assert.equal(css.headers.get("x-content-type-options"), "nosniff");
    await css.body?.cancel();
    const escape = await app.request("/static/..%2Fmain.ts");
    assert.equal(escape.status, 404);
    await escape.body?.cancel();

    // the gateway is down: the health check says so instead of failing the process
    const health = await app.request("/healthz");
    assert.equal(health.status, 503);
    assert.equal((await health.json()).checks.gateway.ok, false);
  } finally {
    await Deno.remove(assetsDir, { recursive: true });
  }
});

/** What every page carries: no framing by other sites, no sniffing, no caching. */
function assertPageHeaders(res: Response): void {
  assert.match(res.headers.get("content-type")!, /^text\/html/);
  const csp = res.headers.get("content-security-policy")!;
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /^default-src 'self'; script-src 'self' 'sha256-[A-Za-z0-9+/]{43}=';/);
  assert.match(csp, /object-src 'none'; base-uri 'self'/);
  // a page talks to this server and the gateway only, over HTTP and WebSocket
  assert.match(csp, /connect-src 'self' http:\/\/[^ ]+:\d+ ws:\/\/[^ ;]+:\d+;/);
  assert.match(csp, /form-action 'self'/);
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("referrer-policy"), "same-origin");
  assert.equal(res.headers.get("cache-control"), "no-store");
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers.get(name), value);
}

Deno.test({
  name: "createApp() renders many trade pages at once with one gateway call per public read",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const assetsDir = await Deno.makeTempDir({ prefix: "kalency-app-test-" });
  const calls: string[] = [];
  const market = TEST_MARKET;
  const gateway = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    calls.push(url.pathname);
    await new Promise((r) => setTimeout(r, 20));
    if (url.pathname === "/v1/markets") return Response.json([market]);
    if (url.pathname === "/v1/tickers") return Response.json([{ symbol: "BTC-USD", last: "65000" }]);
    if (url.pathname.endsWith("/book")) {
      return Response.json({ symbol: "BTC-USD", seq: 1, bids: [{ price: "64999", qty: "1" }], asks: [] });
    }
    return Response.json([]);
  });
  try {
    await buildIslands({ outDir: assetsDir });
    const app = await createApp({ gatewayUrl: `http://127.0.0.1:${gateway.addr.port}`, assetsDir });
    const pages = await Promise.all(
      Array.from({ length: 40 }, () => app.request("http://example.test:8000/trade/BTC-USD")),
    );
    for (const page of pages) {
      assert.equal(page.status, 200);
      assertPageHeaders(page);
      assert.match(await page.text(), /64999/);
    }
    assert.deepEqual(calls.sort(), [
      "/v1/markets",
      "/v1/markets/BTC-USD/book",
      "/v1/markets/BTC-USD/candles",
      "/v1/markets/BTC-USD/trades",
      "/v1/tickers",
    ]);
  } finally {
    await gateway.shutdown();
    await Deno.remove(assetsDir, { recursive: true });
  }
});

Deno.test("publicGatewayFor() keeps the page's host and takes the gateway's port", () => {
  assert.equal(publicGatewayFor("http://localhost:8000/trade/BTC-USD"), "http://localhost:8080");
  assert.equal(publicGatewayFor("http://localhost:8000/", "9090"), "http://localhost:9090");
  assert.equal(publicGatewayFor("https://kalency.example/x"), "https://kalency.example:8080");
  assert.equal(publicGatewayFor("http://[::1]:8000/"), "http://[::1]:8080");
});

Deno.test("the CSP's script hash is the hash of the one inline script the layout writes", async () => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(PALETTE_SCRIPT));
  const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
  assert.equal(PALETTE_SCRIPT_HASH, `'sha256-${hash}'`);
  assert.ok(contentSecurityPolicy("http://localhost:8080").includes(PALETTE_SCRIPT_HASH));
});

Deno.test("contentSecurityPolicy() lets a page reach the gateway it is given, and nothing else", () => {
  const csp = contentSecurityPolicy("http://localhost:8080");
  assert.match(csp, /connect-src 'self' http:\/\/localhost:8080 ws:\/\/localhost:8080;/);
  assert.match(
    contentSecurityPolicy("https://api.example"),
    /connect-src 'self' https:\/\/api.example wss:\/\/api.example;/,
  );
});
