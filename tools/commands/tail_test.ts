import assert from "node:assert/strict";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { publish, publishBatch, publishPacked } from "@lib/redis";
import { redisFixture, waitFor } from "@lib/testing";
import {
  execution,
  jsonLines,
  orderAck,
  reconnectDelayOver,
  RedisRelay,
  tools,
  toolsLive,
} from "../test_util.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("tail --count N prints the last N entries, one line each with the key fields", async () => {
  await using fx = await redisFixture("tail");
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, [
    execution({ tradeId: "trd-1", seq: 1 }),
    execution({ tradeId: "trd-2", seq: 2, qty: "0.25", price: "65001.00" }),
    execution({ tradeId: "trd-3", seq: 3, buyerUserId: "carol" }),
  ]);
  const r = await tools(["tail", "executions", "--count", "2"], { prefix: fx.prefix });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /^\d\d:\d\d:\d\d\.\d{3} execution BTC-USD 0\.25 @ 65001\.00 buyer=bob seller=alice taker=BUY trd-2$/,
  );
  assert.match(lines[1], /buyer=carol seller=alice .*trd-3$/);
  assert.ok(!r.stdout.includes("\x1b["), "no colours when piped");
});

Deno.test("tail shows the messages of packed entries one by one, with their index in --json", async () => {
  await using fx = await redisFixture("tail");
  await publishPacked(fx.redis, fx.prefix, STREAMS.executions, [
    execution({ tradeId: "trd-1", seq: 1 }),
    execution({ tradeId: "trd-2", seq: 2 }),
    execution({ tradeId: "trd-3", seq: 3 }),
  ], 2);
  const last = await tools(["tail", "executions", "--count", "2"], { prefix: fx.prefix });
  assert.equal(last.code, 0, last.stderr);
  assert.deepEqual(last.stdout.match(/trd-\d/g), ["trd-2", "trd-3"]);
  const all = await tools(["tail", "executions", "--from", "0-0", "--no-follow", "--json"], {
    prefix: fx.prefix,
  });
  assert.equal(all.code, 0, all.stderr);
  const records = jsonLines(all.stdout);
  assert.deepEqual(records.map((r) => [(r.message as { tradeId: string }).tradeId, r.index]), [["trd-1", 0], [
    "trd-2",
    1,
  ], [
    "trd-3",
    0,
  ]]);
  assert.equal(records[0].id, records[1].id, "messages of one packed entry share its id");
});

Deno.test("tail filters by symbol, user and type", async () => {
  await using fx = await redisFixture("tail");
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, [
    execution({ tradeId: "trd-1", symbol: "ETH-USD" }),
    execution({ tradeId: "trd-2" }),
    execution({ tradeId: "trd-3", buyerUserId: "dave", takerUserId: "dave" }),
  ]);
  await publishBatch(fx.redis, fx.prefix, STREAMS.orderEvents, [
    { event: "NEW", order: orderAck({ orderId: "ord-7", userId: "erin" }), ts: 1 },
    { event: "CANCELED", order: orderAck({ orderId: "ord-8", status: "CANCELED" }), ts: 2 },
  ]);
  const eth = await tools(["tail", "executions", "--count", "10", "--symbol", "eth-usd"], {
    prefix: fx.prefix,
  });
  assert.deepEqual(eth.stdout.match(/trd-\d/g), ["trd-1"]);
  const dave = await tools(["tail", "executions", "--count", "10", "--user", "dave"], { prefix: fx.prefix });
  assert.deepEqual(dave.stdout.match(/trd-\d/g), ["trd-3"]);
  const erin = await tools(["tail", "order-events", "--count", "10", "--user", "erin"], {
    prefix: fx.prefix,
  });
  assert.match(erin.stdout, / NEW ord-7 BTC-USD BUY LIMIT 0\.5 @ 65000\.00 filled 0 ACCEPTED user=erin/);
  assert.doesNotMatch(erin.stdout, /ord-8/);
  const canceled = await tools(["tail", "order-events", "--count", "10", "--type", "canceled"], {
    prefix: fx.prefix,
  });
  assert.deepEqual(canceled.stdout.match(/ord-\d/g), ["ord-8"]);
});

Deno.test("tail names an unknown market, a stream that does not exist and a type it never holds instead of printing nothing", async () => {
  await using fx = await redisFixture("tail");
  await fx.redis.hSet(keys.markets(fx.prefix), { "BTC-USD": "{}", "ETH-USD": "{}" });
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, [execution({ tradeId: "trd-1" })]);
  const doge = await tools(["tail", "executions", "--count", "5", "--symbol", "doge-usd"], {
    prefix: fx.prefix,
  });
  assert.equal(doge.code, 2, "a usage error");
  assert.match(doge.stderr, /unknown market DOGE-USD; markets: BTC-USD, ETH-USD/);
  const nobody = await tools(["tail", "replies:nobody", "--count", "1"], { prefix: fx.prefix });
  assert.equal(nobody.code, 1);
  assert.equal(nobody.stdout, "");
  assert.match(nobody.stderr, /:stream:replies:nobody does not exist: nothing was ever written to it/);
  const typo = await tools(["tail", "executions", "--count", "1", "--type", "exectuion"], {
    prefix: fx.prefix,
  });
  assert.equal(typo.code, 0);
  assert.equal(typo.stdout, "");
  assert.match(typo.stderr, /no entry of type exectuion on .*:stream:executions; its types: execution/);
});

Deno.test("tail --from ID includes that entry; --since reads from a time; --no-follow stops at the end", async () => {
  await using fx = await redisFixture("tail");
  const key = streamKey(fx.prefix, STREAMS.executions);
  const ids = [];
  for (let i = 1; i <= 4; i++) {
    ids.push(
      await fx.redis.xAdd(key, `${1_700_000_000_000 + i * 60_000}-0`, {
        type: "execution",
        payload: JSON.stringify(execution({ tradeId: `trd-${i}`, seq: i })),
      }),
    );
  }
  const from = await tools(["tail", "executions", "--from", ids[2], "--no-follow"], { prefix: fx.prefix });
  assert.equal(from.code, 0, from.stderr);
  assert.deepEqual(from.stdout.match(/trd-\d/g), ["trd-3", "trd-4"]);
  const counted = await tools(["tail", "executions", "--from", "0", "--count", "1"], { prefix: fx.prefix });
  assert.deepEqual(counted.stdout.match(/trd-\d/g), ["trd-1"]);
  const since = await tools(
    ["tail", "executions", "--since", new Date(1_700_000_000_000 + 2 * 60_000).toISOString(), "--no-follow"],
    { prefix: fx.prefix },
  );
  assert.deepEqual(since.stdout.match(/trd-\d/g), ["trd-2", "trd-3", "trd-4"]);
  const bad = await tools(["tail", "executions", "--since", "last tuesday"], { prefix: fx.prefix });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since must be a duration like 5m/);
  const noZone = await tools(["tail", "executions", "--since", "2026-11-26T13:45:00"], { prefix: fx.prefix });
  assert.equal(noZone.code, 2);
  assert.match(noZone.stderr, /RFC 3339 time with its zone \(2026-11-26T13:45:00Z or \+01:00\)/);
  // alone, --no-follow would print nothing and end: say why instead
  const alone = await tools(["tail", "executions", "--no-follow"], { prefix: fx.prefix });
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--no-follow needs --from, --since or --count/);
  const badSymbol = await tools(["tail", "executions", "--symbol", "btcusd"], { prefix: fx.prefix });
  assert.equal(badSymbol.code, 2);
  assert.match(badSymbol.stderr, /--symbol must be BASE-QUOTE, e\.g\. BTC-USD, got "BTCUSD"/);
});

Deno.test("tail --json prints one parseable object per entry, undecodable ones with the reason", async () => {
  await using fx = await redisFixture("tail");
  await publish(fx.redis, fx.prefix, STREAMS.orders, {
    type: "place",
    cmdId: "c-1",
    userId: "alice",
    symbol: "BTC-USD",
    side: "SELL",
    orderType: "LIMIT",
    price: "65000.00",
    qty: "0.1",
  });
  await fx.redis.xAdd(streamKey(fx.prefix, STREAMS.orders), "*", {
    type: "place",
    payload: '{"type":"place"}',
  });
  const r = await tools(["tail", "orders", "--count", "5", "--json"], { prefix: fx.prefix });
  const [good, broken] = jsonLines(r.stdout);
  assert.equal(good.stream, "orders");
  assert.equal(good.type, "place");
  assert.equal((good.message as { price: string }).price, "65000.00");
  assert.match(String(good.time), /^\d{4}-\d\d-\d\dT/);
  assert.equal(broken.message, undefined);
  assert.match(String(broken.invalid), /does not match the orders contract/);

  const text = await tools(["tail", "orders", "--count", "5"], { prefix: fx.prefix });
  assert.match(text.stdout, / place BTC-USD SELL LIMIT 0\.1 @ 65000\.00 user=alice cmd=c-1\n/);
  assert.match(text.stdout, / place undecodable \{"type":"place"\} \(payload does not match/);
});

Deno.test("tail reads dead-letter streams and reply streams", async () => {
  await using fx = await redisFixture("tail");
  await fx.redis.xAdd(`${streamKey(fx.prefix, STREAMS.orders)}:dead`, "*", {
    reason: "payload is not JSON",
    source: "matching-engine/decode",
    originalId: "1-0",
    original: JSON.stringify({ type: "place", payload: "{oops" }),
  });
  const dead = await tools(["tail", "orders:dead", "--count", "1"], { prefix: fx.prefix });
  assert.match(
    dead.stdout,
    /undecodable \{oops .*dead: payload is not JSON original=1-0 source=matching-engine\/decode/,
  );

  await fx.redis.xAdd(streamKey(fx.prefix, "replies:gw-1"), "*", {
    type: "rejected",
    payload: JSON.stringify({
      ok: false,
      cmdId: "c-9",
      reason: "INSUFFICIENT_BALANCE",
      message: "need 10 USD",
    }),
  });
  const reply = await tools(["tail", "replies:gw-1", "--count", "1"], { prefix: fx.prefix });
  assert.match(reply.stdout, / rejected INSUFFICIENT_BALANCE: need 10 USD cmd=c-9/);

  const unknown = await tools(["tail", "nope"], { prefix: fx.prefix });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown stream "nope"; streams: orders, executions/);
});

Deno.test("tail follows new entries live and stops cleanly when aborted", async () => {
  await using fx = await redisFixture("tail");
  await publish(fx.redis, fx.prefix, STREAMS.executions, execution({ tradeId: "trd-old" }));
  const live = toolsLive(["tail", "executions"], { prefix: fx.prefix });
  let n = 0;
  await waitFor(async () => {
    await publish(fx.redis, fx.prefix, STREAMS.executions, execution({ tradeId: `trd-new-${n++}` }));
    return live.out.stdout.includes("trd-new-");
  }, { intervalMs: 100, what: "a live execution" });
  assert.equal(await live.stop(), 0);
  assert.doesNotMatch(live.out.stdout, /trd-old/, "live mode starts from now");
});

Deno.test("deno task tools tail executions prints executions live and exits 0 on Ctrl-C", async () => {
  await using fx = await redisFixture("tail");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/cli.ts", "tail", "executions", "--prefix", fx.prefix],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  const errors = new Response(child.stderr).text();
  try {
    let n = 0;
    await waitFor(async () => {
      await publish(fx.redis, fx.prefix, STREAMS.executions, execution({ tradeId: `trd-p${n++}` }));
      return text.includes("trd-p");
    }, { timeoutMs: 20_000, intervalMs: 200, what: "the tail process to print an execution" });
    assert.match(text, /execution BTC-USD 0\.5 @ 65000\.00 buyer=bob seller=alice taker=BUY trd-p\d+/);
  } finally {
    child.kill("SIGINT");
    const status = await child.status;
    await reading;
    const err = await errors;
    assert.equal(status.code, 0, err);
  }
});

Deno.test("tail --count N with --from (or --from $) waits for new entries and stops after N", async () => {
  await using fx = await redisFixture("tail");
  await publish(fx.redis, fx.prefix, STREAMS.executions, execution({ tradeId: "trd-old" }));
  for (const from of ["$", "0"]) {
    const live = toolsLive(["tail", "executions", "--from", from, "--count", "3"], { prefix: fx.prefix });
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 150));
      await publish(fx.redis, fx.prefix, STREAMS.executions, execution({ tradeId: `trd-${from}-${i}` }));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      live.done,
      new Promise((r) => timer = setTimeout(() => r("still running"), 3000)),
    ]);
    clearTimeout(timer);
    if (status === "still running") await live.stop();
    assert.equal(status, 0, `--from ${from} --count 3 ended by itself`);
    assert.equal(live.out.stdout.trim().split("\n").length, 3, live.out.stdout);
    if (from === "$") assert.doesNotMatch(live.out.stdout, /trd-old/);
    else assert.match(live.out.stdout, /trd-old/);
  }
});

Deno.test("tail says when its Redis connection drops, reconnects and goes on where it was", async () => {
  await using fx = await redisFixture("tail");
  const relay = new RedisRelay();
  const live = toolsLive(["tail", "executions", "--redis-url", relay.url], { prefix: fx.prefix });
  try {
    let n = 0;
    await waitFor(async () => {
      await publish(fx.redis, fx.prefix, STREAMS.executions, execution({ tradeId: `trd-a-${n++}` }));
      return live.out.stdout.includes("trd-a-");
    }, { intervalMs: 100, what: "an execution before the drop" });
    await relay.down();
    await waitFor(() => live.out.stderr.includes("lost the connection to Redis"), { what: "the drop said" });
    // written while tail is cut off: it must still show up
    await publish(fx.redis, fx.prefix, STREAMS.executions, execution({ tradeId: "trd-while-down" }));
    relay.up();
    await waitFor(() => live.out.stdout.includes("trd-while-down"), { what: "the entry written meanwhile" });
    assert.match(live.out.stderr, /reconnected to Redis at redis:\/\/127\.0\.0\.1:\d+/);
    assert.equal(live.out.stderr.match(/lost the connection/g)?.length, 1, "said once, not per retry");
    // Ctrl-C while cut off again ends it at once, not after the reconnect attempts
    await relay.down();
    await waitFor(() => live.out.stderr.match(/lost the connection/g)?.length === 2, {
      what: "the second drop",
    });
    const t0 = performance.now();
    assert.equal(await live.stop(), 0);
    assert.ok(performance.now() - t0 < 1500, `stopped in ${Math.round(performance.now() - t0)} ms`);
  } finally {
    await live.stop();
    await relay.close();
    await reconnectDelayOver();
  }
});

Deno.test("a Redis that takes the connection but never answers: Ctrl-C ends the command with 130", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const stop = new AbortController();
    const run = tools(
      ["streams", "--redis-url", `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`],
      {
        signal: stop.signal,
      },
    );
    setTimeout(() => stop.abort(), 300);
    const r = await run;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /streams: interrupted$/m);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test("usage errors: a flag given a value, and --from $ with --no-follow, say what is wrong", async () => {
  const flag = await tools(["streams", "--json=true"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /option --json takes no value/);
  const nothing = await tools(["tail", "executions", "--from", "$", "--no-follow"]);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /--from \$ with --no-follow prints nothing/);
});
