import assert from "node:assert/strict";
import { DEFAULT_MARKETS, keys, streamKey, STREAMS } from "@lib/contracts";
import { publishBatch } from "@lib/redis";
import { toSteps } from "@lib/money";
import { dbFixture, freePort, redisFixture, waitFor } from "@lib/testing";
import { spawnGateway } from "../../services/gateway/testing.ts";
import { jsonLines, spawnEngine, tools } from "../test_util.ts";
import { isLoopbackUrl, LoadStats, minLots, planOrders, priceOrder, summaryNotes } from "./load.ts";

Deno.test("planOrders() and priceOrder() give valid, reproducible limit orders around the mid", () => {
  assert.deepEqual(planOrders(500, 7), planOrders(500, 7), "same seed, same plan");
  for (const market of DEFAULT_MARKETS) {
    const plan = planOrders(500, 7).map((o) => priceOrder(market, market.startPrice, o));
    for (const o of plan) {
      assert.ok(
        toSteps(o.price, market.tickSize) !== undefined,
        `${o.price} on the tick of ${market.symbol}`,
      );
      assert.ok(toSteps(o.qty, market.stepSize) !== undefined, `${o.qty} on the step of ${market.symbol}`);
      const lots = BigInt(toSteps(o.qty, market.stepSize)!);
      assert.ok(
        lots >= minLots(market, o.price),
        `${o.qty} @ ${o.price} reaches the minimums of ${market.symbol}`,
      );
    }
    const crossing = plan.filter((o) => o.timeInForce === "IOC").length;
    assert.ok(crossing > 100 && crossing < 300, `about 40 % cross (${crossing})`);
  }
  // the same planned order follows the mid it is priced at
  const btc = DEFAULT_MARKETS.find((m) => m.symbol === "BTC-USD")!;
  const order = { side: "BUY" as const, offsetTicks: -3, cross: false, size: 2 };
  assert.deepEqual(priceOrder(btc, "65000.00", order), {
    side: "BUY",
    price: "64999.97",
    qty: "0.0002",
    timeInForce: "GTC",
  });
  assert.equal(priceOrder(btc, "60000.005", order).price, "59999.97");
});

Deno.test("minLots() reaches both the minimum quantity and the minimum notional", () => {
  const btc = DEFAULT_MARKETS.find((m) => m.symbol === "BTC-USD")!;
  assert.equal(minLots(btc, "65000.00"), 1n); // 0.0001 BTC = 6.5 USD >= 5
  assert.equal(minLots(btc, "10000.00"), 5n); // 0.0005 BTC = 5 USD
});

Deno.test("isLoopbackUrl() accepts only this machine", () => {
  for (
    const u of [
      "http://127.0.0.1:8080",
      "http://localhost:8080",
      "http://[::1]:8080",
      "redis://127.0.0.1:6379",
    ]
  ) {
    assert.ok(isLoopbackUrl(u), u);
  }
  for (const u of ["http://10.0.0.1:8080", "http://example.com", "redis://redis:6379", "not a url"]) {
    assert.ok(!isLoopbackUrl(u), u);
  }
});

Deno.test("summaryNotes() says when a run was cut short and when a rate limit refused orders", () => {
  const stats = new LoadStats();
  stats.add({ kind: "rejected", reason: "RATE_LIMITED", latencyMs: 1 });
  const s = stats.summary(1000, "REST x", 0);
  assert.deepEqual(summaryNotes(s, 10, 5, 9), [
    "--max-seconds (5 s, sign-ups included) ended the run; 9 of 10 orders were not sent",
    "the gateway's rate limits refused 1 orders (every load user comes from one address); " +
    "for load tests run the gateway with KALENCY_RATE_LIMIT=false",
  ]);
  assert.deepEqual(summaryNotes(new LoadStats().summary(1000, "REST x", 0), 10, 5, 0), []);
  const full = new LoadStats();
  full.add({ kind: "rejected", reason: "TOO_MANY_OPEN_ORDERS", latencyMs: 1 });
  assert.deepEqual(summaryNotes(full.summary(1000, "REST x", 0), 10, 5, 0), [
    "1 orders were refused because their user had reached the open-order limit (resting orders " +
    "the market moved away from stay open); spread a long run over more --users",
  ]);
  assert.deepEqual(summaryNotes(new LoadStats().summary(1000, "REST x", 0), 2000, 60, 1156, true), [
    "Ctrl-C ended the run; 1156 of 2000 orders were not sent",
  ]);
});

Deno.test("LoadStats summarises acks, rejections by reason and latency percentiles", () => {
  const s = new LoadStats();
  s.sent = 5;
  s.add({ kind: "acked", status: "FILLED", latencyMs: 1 });
  s.add({ kind: "acked", status: "ACCEPTED", latencyMs: 2 });
  s.add({ kind: "rejected", reason: "INSUFFICIENT_BALANCE", latencyMs: 3 });
  s.add({ kind: "rejected", reason: "INSUFFICIENT_BALANCE", latencyMs: 4 });
  s.add({ kind: "failed", reason: "NO_REPLY_IN_TIME" });
  const sum = s.summary(1000, "test", 0);
  assert.equal(sum.acked, 2);
  assert.equal(sum.filledOrPartly, 1);
  assert.deepEqual(sum.rejectedByReason, { INSUFFICIENT_BALANCE: 2 });
  assert.deepEqual(sum.failed, { NO_REPLY_IN_TIME: 1 });
  assert.deepEqual(sum.latencyMs, { p50: 2, p90: 4, p99: 4, max: 4 });
  assert.equal(sum.sentPerSecond, 5);
});

Deno.test("load refuses a target that is not on this machine", async () => {
  const r = await tools(["load", "--gateway-url", "http://10.1.2.3:8080"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /loopback/);
  const d = await tools(["load", "--direct", "--redis-url", "redis://redis.example:6379"]);
  assert.equal(d.code, 2);
});

Deno.test("load renews its access tokens and follows the mid price through a long run", async () => {
  // a gateway whose access tokens live one second and whose book moves after the first second
  const btc = DEFAULT_MARKETS.find((m) => m.symbol === "BTC-USD")!;
  const started = Date.now();
  const valid = new Map<string, number>(); // access token -> expiry
  const refreshable = new Set<string>();
  const prices: { at: number; price: number }[] = [];
  let expired = 0;
  let n = 0;
  let refreshes = 0;
  let logins = 0;
  const issue = () => {
    const access = `a${++n}`;
    const refresh = `r${n}`;
    valid.set(access, Date.now() + 1000);
    refreshable.add(refresh);
    return {
      accessToken: access,
      refreshToken: refresh,
      tokenType: "Bearer",
      expiresIn: 1,
      refreshExpiresIn: 60,
    };
  };
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/v1/markets") return json([{ ...btc, lastPrice: "65000.00" }]);
    if (path === "/v1/markets/BTC-USD/book") {
      const mid = Date.now() - started < 1000 ? 65000 : 60000;
      return json({ bids: [{ price: `${mid - 1}.00` }], asks: [{ price: `${mid + 1}.00` }] });
    }
    if (path === "/v1/auth/signup") return json(issue(), 201);
    if (path === "/v1/auth/refresh") {
      const { refreshToken } = await req.json();
      // the first refresh is refused as a reuse (its answer was lost, say): the tool logs in again
      if (++refreshes === 1 || !refreshable.delete(refreshToken)) {
        return json({ code: "REFRESH_TOKEN_REUSED" }, 401);
      }
      return json(issue());
    }
    if (path === "/v1/auth/login") {
      logins++;
      return json(issue());
    }
    if (path === "/v1/orders") {
      const token = req.headers.get("authorization")?.slice("Bearer ".length) ?? "";
      if ((valid.get(token) ?? 0) < Date.now()) {
        expired++;
        return json({ code: "TOKEN_EXPIRED" }, 401);
      }
      const order = await req.json();
      prices.push({ at: Date.now() - started, price: Number(order.price) });
      return json({ status: "NEW" }, 201);
    }
    return json({ code: "NOT_FOUND" }, 404);
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const r = await tools([
      "load",
      "--gateway-url",
      url,
      "--orders",
      "160",
      "--rate",
      "40",
      "--users",
      "2",
      "--seed",
      "3",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const s = jsonLines(r.stdout)[0] as Record<string, any>;
    assert.equal(s.acked, 160, JSON.stringify(s));
    assert.equal(expired, 0, "no order went out with an expired token");
    assert.equal(logins, 1, "a refused refresh is followed by a new login");
    assert.ok(n >= 6, `tokens renewed over the 4 s run (${n} issued)`);
    // the book moved from 65,000 to 60,000 after a second: the later orders follow it
    const late = prices.filter((p) => p.at > 3000);
    assert.ok(late.length > 0);
    for (const p of late) assert.ok(Math.abs(p.price - 60000) <= 1, `${p.price} near the new mid`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("load says when the gateway does not answer", async () => {
  const port = freePort(); // free: nothing listens there
  const r = await tools(["load", "--gateway-url", `http://127.0.0.1:${port}`, "--orders", "5"]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`cannot reach the gateway at http://127\\.0\\.0\\.1:${port}: .*is it running\\?`),
  );
});

Deno.test("load --direct places a bounded number of orders through the engine and reports every answer", async () => {
  await using fx = await redisFixture("load");
  const engine = await spawnEngine(fx.prefix);
  try {
    const r = await tools(
      [
        "load",
        "--direct",
        "--orders",
        "300",
        "--rate",
        "3000",
        "--users",
        "5",
        "--max-seconds",
        "30",
        "--seed",
        "1",
        "--json",
      ],
      { prefix: fx.prefix },
    );
    assert.equal(r.code, 0, r.stderr + engine.output());
    const s = jsonLines(r.stdout)[0] as Record<string, any>;
    assert.equal(s.kind, "load");
    assert.equal(s.sent, 300);
    assert.equal(s.acked + s.rejected, 300, JSON.stringify(s));
    assert.equal(s.unanswered, 0);
    assert.ok(s.acked > 200, JSON.stringify(s));
    assert.ok(s.filledOrPartly > 0, "some orders traded");
    assert.ok(s.latencyMs.p50 > 0 && s.latencyMs.p99 >= s.latencyMs.p50);
    const text = await tools(["load", "--direct", "--orders", "20", "--rate", "1000", "--users", "2"], {
      prefix: fx.prefix,
    });
    assert.match(text.stdout, /^load \(direct to stream:orders\): 20 sent in .*\n {2}acked +\d+/);
    assert.match(text.stdout, /ack latency p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms/);
    assert.equal(s.notSent, 0);
    // --max-seconds ends a run that cannot send everything, and the summary says so
    const cut = await tools(
      ["load", "--direct", "--orders", "100", "--rate", "20", "--users", "2", "--max-seconds", "1"],
      { prefix: fx.prefix },
    );
    assert.equal(cut.code, 0, cut.stderr);
    assert.match(
      cut.stdout,
      /note: --max-seconds \(1 s, sign-ups included\) ended the run; \d+ of 100 orders were not sent/,
    );
  } finally {
    assert.equal(await engine.stop(), 0, engine.output());
  }
});

Deno.test("load through the gateway signs users up and places orders over REST", async () => {
  await using fx = await redisFixture("load");
  await using db = await dbFixture();
  const engine = await spawnEngine(fx.prefix);
  try {
    await using gateway = await spawnGateway(fx.prefix, db.url);
    const r = await tools(
      [
        "load",
        "--gateway-url",
        gateway.url,
        "--orders",
        "60",
        "--rate",
        "300",
        "--users",
        "3",
        "--max-seconds",
        "30",
        "--json",
      ],
      { prefix: fx.prefix },
    );
    assert.equal(r.code, 0, r.stderr);
    const s = jsonLines(r.stdout)[0] as Record<string, any>;
    assert.equal(s.mode, `REST ${gateway.url}`);
    assert.equal(s.sent, 60);
    assert.equal(s.acked + s.rejected, 60, JSON.stringify(s));
    assert.ok(s.acked > 30, JSON.stringify(s));

    // a market added at run time, whose book stands far from its start price: the orders go where
    // the book is, as the gateway shows it
    const sol = {
      symbol: "SOL-USD",
      base: "SOL",
      quote: "USD",
      tickSize: "0.01",
      stepSize: "0.01",
      minQty: "0.01",
      maxQty: "100000",
      minNotional: "1",
      status: "TRADING" as const,
      startPrice: "150",
    };
    const ids = await publishBatch(fx.redis, fx.prefix, STREAMS.orders, [
      { type: "addMarket", cmdId: "add-sol", market: sol },
      {
        type: "place",
        cmdId: "bid-sol",
        userId: "whale",
        symbol: "SOL-USD",
        side: "BUY",
        orderType: "LIMIT",
        price: "130",
        qty: "1",
      },
    ]);
    await waitFor(async () => (await fx.redis.get(keys.checkpoint(fx.prefix))) === ids[1], {
      what: "the new market and its bid",
    });
    // the gateway's market list is cached for a second
    await waitFor(async () => {
      const list = await (await fetch(`${gateway.url}/v1/markets`)).json();
      return list.some((m: { symbol: string }) => m.symbol === "SOL-USD");
    }, { what: "SOL-USD listed by the gateway" });
    const before = ids[1];
    const onSol = await tools(
      [
        "load",
        "--gateway-url",
        gateway.url,
        "--symbol",
        "sol-usd",
        "--orders",
        "20",
        "--users",
        "2",
        "--json",
      ],
      { prefix: fx.prefix },
    );
    assert.equal(onSol.code, 0, onSol.stderr);
    const placed = ((await fx.redis.xRange(streamKey(fx.prefix, STREAMS.orders), `(${before}`, "+")) ?? [])
      .map((e) => JSON.parse(e!.message.payload))
      .filter((c) => c.type === "place" && c.symbol === "SOL-USD" && c.price);
    assert.ok(placed.length >= 10, `${placed.length} priced orders`);
    for (const c of placed) {
      assert.ok(Math.abs(Number(c.price) - 130) < 5, `price ${c.price} is near the bid`);
    }
  } finally {
    assert.equal(await engine.stop(), 0, engine.output());
  }
});
