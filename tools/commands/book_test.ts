import assert from "node:assert/strict";
import { type BookSnapshot, keys } from "@lib/contracts";
import { redisFixture, waitFor } from "@lib/testing";
import { createStyle } from "../format.ts";
import { jsonLines, reconnectDelayOver, RedisRelay, tools, toolsLive } from "../test_util.ts";
import { depthOf, formatDepth, midpoint } from "./book.ts";

const BOOK: BookSnapshot = {
  symbol: "BTC-USD",
  seq: 42,
  bids: [
    { price: "65000.00", qty: "0.5", orders: 1 },
    { price: "64999.50", qty: "1.25", orders: 2 },
    { price: "64990.00", qty: "3", orders: 1 },
  ],
  asks: [
    { price: "65000.50", qty: "0.1", orders: 1 },
    { price: "65010.00", qty: "0.4", orders: 3 },
  ],
  ts: 1_764_118_000_000,
};

Deno.test("depthOf() adds cumulative totals from the best price out and the spread", () => {
  const d = depthOf(BOOK, 2);
  assert.deepEqual(d.bids.map((l) => l.total), ["0.5", "1.75"]);
  assert.deepEqual(d.asks.map((l) => l.total), ["0.1", "0.5"]);
  assert.equal(d.spread, "0.5");
  assert.equal(d.mid, "65000.25");
  assert.equal(d.spreadBps, "0.08");
  assert.equal(midpoint("1", "2"), "1.5");
  assert.equal(depthOf({ ...BOOK, asks: [] }, 5).spread, null);
});

Deno.test("formatDepth() prints asks from the farthest down, the spread, then bids", () => {
  const lines = formatDepth(depthOf(BOOK, 10), createStyle(false));
  assert.match(lines[0], /^BTC-USD {2}seq 42 {2}\d\d:\d\d:\d\d\.\d{3}$/);
  assert.match(lines[1], /PRICE +QTY +TOTAL +ORDERS/);
  // every column at its widest precision, with zeros, as a trader reads a ladder
  assert.match(lines[2], /^ask +65010\.00 +0\.40 +0\.50 +3$/);
  assert.match(lines[3], /^ask +65000\.50 +0\.10 +0\.10 +1$/);
  assert.match(lines[4], /spread 0\.5 \(0\.08 bps\) {2}mid 65000\.25/);
  assert.match(lines[5], /^bid +65000\.00 +0\.50 +0\.50 +1$/);
  assert.match(lines[7], /^bid +64990\.00 +3\.00 +4\.75 +1$/);
});

Deno.test("book prints the read model, honours --depth and --json, and names known markets when missing", async () => {
  await using fx = await redisFixture("book");
  await fx.redis.set(keys.book(fx.prefix, "BTC-USD"), JSON.stringify(BOOK));
  await fx.redis.hSet(keys.markets(fx.prefix), "BTC-USD", "{}");
  const r = await tools(["book", "btc-usd", "--depth", "1"], { prefix: fx.prefix });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trimEnd().split("\n").length, 5);
  assert.match(r.stdout, /ask +65000\.50/);
  assert.doesNotMatch(r.stdout, /65010/);

  const [json] = jsonLines((await tools(["book", "BTC-USD", "--json"], { prefix: fx.prefix })).stdout);
  assert.equal(json.spread, "0.5");
  assert.equal((json.bids as unknown[]).length, 3);

  // a paused market says so
  await fx.redis.hSet(
    keys.markets(fx.prefix),
    "BTC-USD",
    JSON.stringify({ symbol: "BTC-USD", status: "PAUSED" }),
  );
  const paused = await tools(["book", "BTC-USD"], { prefix: fx.prefix });
  assert.match(paused.stdout.split("\n")[0], /PAUSED: no orders are taken/);
  const [pausedJson] = jsonLines((await tools(["book", "BTC-USD", "--json"], { prefix: fx.prefix })).stdout);
  assert.equal(pausedJson.status, "PAUSED");

  const missing = await tools(["book", "ETH-USD"], { prefix: fx.prefix });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no book for ETH-USD under .* \(markets: BTC-USD\)/);
});

Deno.test("book --watch redraws when the book changes and stops when aborted", async () => {
  await using fx = await redisFixture("book");
  await fx.redis.set(keys.book(fx.prefix, "BTC-USD"), JSON.stringify(BOOK));
  const live = toolsLive(["book", "BTC-USD", "--watch", "--interval", "50"], { prefix: fx.prefix });
  await waitFor(() => live.out.stdout.includes("seq 42"));
  await fx.redis.set(keys.book(fx.prefix, "BTC-USD"), JSON.stringify({ ...BOOK, seq: 43, ts: BOOK.ts + 1 }));
  await waitFor(() => live.out.stdout.includes("seq 43"));
  assert.equal(await live.stop(), 0);
  assert.equal(live.out.stdout.match(/seq 4\d/g)?.length, 2, "one drawing per change");
});

Deno.test("book --watch goes on through lost connections, and Ctrl-C during one exits 0", async () => {
  await using fx = await redisFixture("book");
  await fx.redis.set(keys.book(fx.prefix, "BTC-USD"), JSON.stringify(BOOK));
  const relay = new RedisRelay();
  const live = toolsLive(["book", "BTC-USD", "--watch", "--interval", "50", "--redis-url", relay.url], {
    prefix: fx.prefix,
  });
  try {
    await waitFor(() => live.out.stdout.includes("seq 42"), { what: "the book" });
    // drops while reads are in flight: none of them may end the watch
    for (let i = 0; i < 4; i++) {
      await relay.down();
      await waitFor(() => live.out.stderr.match(/lost the connection/g)?.length === i + 1, {
        what: `drop ${i}`,
      });
      relay.up();
      await waitFor(() => live.out.stderr.match(/reconnected to Redis/g)?.length === i + 1, {
        what: `back ${i}`,
      });
    }
    await fx.redis.set(
      keys.book(fx.prefix, "BTC-USD"),
      JSON.stringify({ ...BOOK, seq: 43, ts: BOOK.ts + 1 }),
    );
    await waitFor(() => live.out.stdout.includes("seq 43"), { what: "a change after the drops" });
    await relay.down();
    await waitFor(() => live.out.stderr.match(/lost the connection/g)?.length === 5, {
      what: "the last drop",
    });
    assert.equal(await live.stop(), 0, live.out.stderr);
  } finally {
    await live.stop();
    await relay.close();
    await reconnectDelayOver();
  }
});
