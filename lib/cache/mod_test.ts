import assert from "node:assert/strict";
import { TtlCache } from "./mod.ts";

/** A load that counts its calls and resolves when told. */
function deferredLoads<T>() {
  const pending: { resolve: (v: T) => void; reject: (e: Error) => void }[] = [];
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    load: () => {
      calls++;
      return new Promise<T>((resolve, reject) => pending.push({ resolve, reject }));
    },
    pending,
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("TtlCache: concurrent misses of a key share one load", async () => {
  const cache = new TtlCache({ ttlMs: 1000, maxEntries: 10 });
  const loads = deferredLoads<number>();
  const all = Promise.all(Array.from({ length: 50 }, () => cache.get("markets", loads.load)));
  await tick();
  assert.equal(loads.calls, 1);
  loads.pending[0].resolve(42);
  assert.deepEqual(await all, Array(50).fill(42));
  // other keys load on their own
  const other = deferredLoads<number>();
  const b = cache.get("tickers", other.load);
  await tick();
  assert.equal(other.calls, 1);
  other.pending[0].resolve(7);
  assert.equal(await b, 7);
});

Deno.test("TtlCache: a loaded value is served until its TTL is over, then loaded again", async () => {
  let now = 1_000_000;
  const cache = new TtlCache({ ttlMs: 1000, maxEntries: 10, now: () => now });
  let calls = 0;
  const load = () => Promise.resolve(++calls);
  assert.equal(await cache.get("k", load), 1);
  now += 999;
  assert.equal(await cache.get("k", load), 1);
  now += 1;
  assert.equal(await cache.get("k", load), 2);
  assert.equal(calls, 2);
});

Deno.test("TtlCache: a failed load is shared by its waiters but not kept", async () => {
  const cache = new TtlCache({ ttlMs: 60_000, maxEntries: 10 });
  const loads = deferredLoads<string>();
  const a = cache.get("k", loads.load);
  const b = cache.get("k", loads.load);
  await tick();
  loads.pending[0].reject(new Error("gateway down"));
  await assert.rejects(a, /gateway down/);
  await assert.rejects(b, /gateway down/);
  assert.equal(cache.size, 0);
  assert.equal(await cache.get("k", () => Promise.resolve("back")), "back");
  // a load that throws before returning a promise fails the same way
  await assert.rejects(
    cache.get("t", () => {
      throw new Error("sync");
    }),
    /sync/,
  );
  assert.equal(cache.size, 1);
});

Deno.test("TtlCache: holds at most maxEntries, dropping the oldest", async () => {
  const cache = new TtlCache({ ttlMs: 60_000, maxEntries: 3 });
  let calls = 0;
  const load = () => Promise.resolve(++calls);
  for (const k of ["a", "b", "c", "d", "e"]) await cache.get(k, load);
  assert.equal(cache.size, 3);
  assert.equal(calls, 5);
  await cache.get("e", load); // still held
  assert.equal(calls, 5);
  await cache.get("a", load); // dropped: loaded again
  assert.equal(calls, 6);
  assert.equal(cache.size, 3);
});

Deno.test("TtlCache: a TTL per read, 0 for none, and keys forgotten on demand", async () => {
  let now = 0;
  const cache = new TtlCache({ ttlMs: 1000, maxEntries: 10, now: () => now });
  let calls = 0;
  const load = () => Promise.resolve(++calls);
  assert.equal(await cache.get("k", load, 5000), 1);
  now += 4999;
  assert.equal(await cache.get("k", load, 5000), 1);
  assert.equal(await cache.get("none", load, 0), 2);
  assert.equal(await cache.get("none", load, 0), 3, "0 caches nothing");
  cache.delete("k");
  assert.equal(await cache.get("k", load), 4);
  cache.clear();
  assert.equal(cache.size, 0);
});
