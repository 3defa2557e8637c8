import assert from "node:assert/strict";
import { ResponseCache } from "./response_cache.ts";

Deno.test("ResponseCache serves an entry within its window only", () => {
  const cache = new ResponseCache<string>();
  cache.set("/a", "A", 1, 20, 0);
  assert.equal(cache.get("/a", 19), "A");
  assert.equal(cache.get("/a", 20), undefined);
  cache.set("/a", "A2", 2, 40, 20);
  assert.equal(cache.get("/a", 30), "A2");
  assert.equal(cache.bytes, 2, "a replaced entry's bytes are not counted twice");
});

Deno.test("ResponseCache stays within its bytes and entries whatever keys arrive", () => {
  const cache = new ResponseCache<string>({ maxBytes: 1000, maxEntries: 50 });
  // a client inventing a new query string for every request, each answer 100 bytes, 20 ms windows
  for (let i = 0; i < 10_000; i++) {
    const now = i * 0.1; // 10 requests a millisecond
    cache.set(`/trades?junk=${i}`, "x", 100, now + 20, now);
    assert.ok(cache.bytes <= 1000, `${cache.bytes} bytes after ${i + 1} answers`);
    assert.ok(cache.size <= 50);
  }
  // stale entries are swept when the cache fills, fresh ones kept
  const sweep = new ResponseCache<string>({ maxBytes: 1200, maxEntries: 2 });
  sweep.set("/old", "o", 100, 10, 0);
  sweep.set("/fresh", "f", 100, 100, 0);
  sweep.set("/new", "n", 150, 100, 50);
  assert.deepEqual([sweep.get("/old", 50), sweep.get("/fresh", 50), sweep.get("/new", 50)], [
    undefined,
    "f",
    "n",
  ]);
  assert.equal(sweep.bytes, 250);
  // a body larger than an eighth of the budget is not kept at all
  sweep.set("/huge", "h", 151, 100, 50);
  assert.equal(sweep.get("/huge", 50), undefined);
});
