import assert from "node:assert/strict";
import { createApp, publicGatewayFor } from "./app.ts";
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

    const missing = await app.request("/no-such-page");
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /Page not found/);

    const js = await app.request(`/static/islands/${manifest.islands.AuthForm.file}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("cache-control")!, /immutable/);
    await js.body?.cancel();
    const css = await app.request("/static/styles.css");
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type")!, /text\/css/);
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

Deno.test("publicGatewayFor() keeps the page's host and takes the gateway's port", () => {
  assert.equal(publicGatewayFor("http://localhost:8000/trade/BTC-USD"), "http://localhost:8080");
  assert.equal(publicGatewayFor("http://localhost:8000/", "9090"), "http://localhost:9090");
  assert.equal(publicGatewayFor("https://kalency.example/x"), "https://kalency.example:8080");
  assert.equal(publicGatewayFor("http://[::1]:8000/"), "http://[::1]:8080");
});
