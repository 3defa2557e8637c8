import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AssetManifest } from "./island.tsx";
import { loadIslands, loadRoutes, mountRoutes, routePath } from "./router.ts";

const DATA = new URL("./testdata", import.meta.url).pathname;
const ASSETS: AssetManifest = {
  base: "/static/islands",
  islands: { Counter: { file: "Counter-AAAAAAAA.js", imports: ["chunk-BBBBBBBB.js"] } },
  css: [],
};

async function testApp(): Promise<Hono> {
  await loadIslands(`${DATA}/islands`);
  const app = new Hono();
  mountRoutes(app, { routes: await loadRoutes(`${DATA}/routes`), assets: () => ASSETS, state: () => ({}) });
  return app;
}

Deno.test("routePath() maps route files to URL patterns", async (t) => {
  const cases: [file: string, path: string][] = [
    ["index.tsx", "/"],
    ["markets.tsx", "/markets"],
    ["api-keys.tsx", "/api-keys"],
    ["trade/index.tsx", "/trade"],
    ["trade/[symbol].tsx", "/trade/:symbol"],
  ];
  for (const [file, path] of cases) await t.step(file, () => assert.equal(routePath(file), path));
});

Deno.test("mountRoutes() renders a page with its island marker, server markup and scripts", async () => {
  const app = await testApp();
  const res = await app.request("/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /text\/html/);
  const html = await res.text();
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.match(html, /<title>Home<\/title>/);
  assert.match(html, /<div data-island="Counter" data-props="{&quot;start&quot;:3}">/);
  assert.match(html, /<button type="button" id="counter">clicks: 3<\/button>/);
  assert.match(html, /<link rel="modulepreload" href="\/static\/islands\/chunk-BBBBBBBB.js">/);
  assert.match(html, /<script type="module" src="\/static\/islands\/Counter-AAAAAAAA.js"><\/script><\/body>/);
});

Deno.test("mountRoutes() passes params and data, and maps handler errors to the 404 and error pages", async () => {
  const app = await testApp();
  const item = await app.request("/items/42");
  assert.equal(item.status, 200);
  const html = await item.text();
  assert.match(html, /<p id="item">item 42<\/p>/);
  assert.match(html, /<title>Item 42<\/title>/);
  assert.doesNotMatch(html, /<script/, "a page without islands loads no JavaScript");

  const missing = await app.request("/items/missing");
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /nothing here/);

  const broken = await app.request("/items/broken");
  assert.equal(broken.status, 500);
  assert.match(await broken.text(), /error 500/);

  const unknown = await app.request("/no/such/page");
  assert.equal(unknown.status, 404);
  assert.match(await unknown.text(), /nothing here/);
});
