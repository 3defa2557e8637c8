import assert from "node:assert/strict";
import { safeNext } from "./safe_next.ts";

const ORIGIN = "http://web.test:8000";

Deno.test("safeNext() keeps paths on the page's origin", () => {
  assert.equal(safeNext("/trade/BTC-USD?tf=1m", ORIGIN), "/trade/BTC-USD?tf=1m");
  assert.equal(safeNext("/wallet#balances", ORIGIN), "/wallet#balances");
  assert.equal(safeNext("/", ORIGIN), "/");
  assert.equal(safeNext(`${ORIGIN}/orders`, ORIGIN), "/orders");
  // a literal "%2F%2Fevil" is a relative path on this site, not a host
  assert.equal(safeNext("%2F%2Fevil", ORIGIN), "/%2F%2Fevil");
});

Deno.test("safeNext() sends every way off the site to /", () => {
  for (
    const next of [
      "/\\evil.example/",
      "/\t/evil.example/",
      "/\n/evil.example/",
      "\\/evil.example/",
      "//evil.example",
      "///evil.example",
      "https://evil.example",
      "http://web.test:9000/",
      "javascript:alert(1)",
      " javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "http://[",
    ]
  ) {
    assert.equal(safeNext(next, ORIGIN), "/", JSON.stringify(next));
  }
});

Deno.test("safeNext() never returns a path the browser reads as a host", () => {
  // "/.//evil.example" stays on the origin, but its pathname is "//evil.example"
  assert.equal(safeNext("/.//evil.example", ORIGIN), "/evil.example");
  assert.equal(safeNext("/a/..//evil.example/x", ORIGIN), "/evil.example/x");
});

Deno.test("safeNext() answers / for an empty or missing next", () => {
  assert.equal(safeNext("", ORIGIN), "/");
  assert.equal(safeNext(null, ORIGIN), "/");
  assert.equal(safeNext(undefined, ORIGIN), "/");
});
