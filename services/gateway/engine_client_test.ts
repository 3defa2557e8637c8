import assert from "node:assert/strict";
import { streamKey, STREAMS } from "@lib/contracts";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { connectRedis, decodeEntry, encodeEntry, RespBatchConnection, RespStreamReader } from "@lib/redis";
import {
  dbFixture,
  freePort,
  redisFixture,
  startPrivateRedis,
  stopPrivateRedis,
  waitFor,
} from "@lib/testing";
import { decodeReply, encodeCommand, EngineClient } from "./engine_client.ts";
import type { ApiError } from "./errors.ts";
import { engineAvailable, gatewayFixture, spawnEngine, spawnGateway } from "./testing.ts";

const ignore = !engineAvailable();

Deno.test("encodeCommand writes what the contract would, without parsing validated commands again", () => {
  const base = { cmdId: "c1", replyTo: "kalency:v1:stream:replies:gw-1", userId: "usr_1", symbol: "BTC-USD" };
  const commands = [
    { ...base, type: "place", side: "BUY", orderType: "LIMIT", price: "65000.5", qty: "0.01" },
    {
      ...base,
      type: "place",
      side: "SELL",
      orderType: "MARKET",
      timeInForce: "IOC",
      postOnly: false,
      qty: "1",
      clientOrderId: "my-1",
      stp: "NONE",
    },
    { ...base, type: "place", side: "BUY", orderType: "MARKET", quoteQty: 100 }, // a number: through zod
    { ...base, type: "cancel", orderId: "ord-9" },
    { ...base, type: "cancelAll" },
    { type: "openAccount", cmdId: "c2", userId: "usr_2" },
  ] as const;
  for (const c of commands) {
    const fast = decodeEntry(STREAMS.orders, { id: "1-0", message: encodeCommand(c) });
    const slow = decodeEntry(STREAMS.orders, { id: "1-0", message: encodeEntry(STREAMS.orders, c) });
    assert.ok(fast.ok && slow.ok);
    assert.deepEqual(fast.value, slow.value);
    assert.equal(encodeCommand(c).type, c.type);
  }
  assert.throws(() =>
    encodeCommand({ type: "deposit", cmdId: "c3", userId: "u", asset: "usd", amount: "1" })
  );
});

Deno.test("decodeReply accepts replies and names what is wrong with anything else", () => {
  const ok = decodeReply({ id: "1-0", message: { payload: '{"ok":true,"cmdId":"c1"}' } });
  assert.deepEqual(ok, { ok: true, cmdId: "c1" });
  assert.match(decodeReply({ id: "1-0", message: {} }) as string, /no payload/);
  assert.match(decodeReply({ id: "1-0", message: { payload: "{" } }) as string, /not JSON/);
  assert.match(decodeReply({ id: "1-0", message: { payload: '{"ok":1}' } }) as string, /cmdId, ok/);
});

Deno.test({
  name: "EngineClient coalesces concurrent commands into few pipelines and matches every reply",
  ignore,
  async fn() {
    await using gw = await gatewayFixture({ engine: true });
    const users = Array.from({ length: 300 }, (_, i) => `bulk-${i}`);
    const replies = await Promise.all(users.map((userId) => gw.engine.send({ type: "openAccount", userId })));
    assert.ok(replies.every((r) => r.ok));
    assert.deepEqual(replies.map((r) => r.ok && r.wallet?.userId), users);
    const m = gw.metrics.render();
    const count = Number(/kalency_gateway_command_batch_size_count (\d+)/.exec(m)?.[1]);
    assert.ok(count >= 1 && count < 30, `300 commands went out in ${count} pipelines`);
    assert.equal(gw.engine.pending, 0);
    const len = await gw.redis.xLen(streamKey(gw.prefix, STREAMS.orders));
    assert.equal(len, 300);
  },
});

Deno.test({
  name: "two gateway processes run side by side, each with its own reply stream, and shut down cleanly",
  ignore,
  async fn() {
    await using rf = await redisFixture("gw2");
    await using db = await dbFixture();
    await using _engine = await spawnEngine(rf.prefix);
    const gw1 = await spawnGateway(rf.prefix, db.url, { KALENCY_GATEWAY_ID: "gw-one" });
    const gw2 = await spawnGateway(rf.prefix, db.url, { KALENCY_GATEWAY_ID: "gw-two" });
    try {
      const post = async (base: string, path: string, body: unknown, token?: string) => {
        const r = await fetch(`${base}${path}`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(body),
        });
        return { status: r.status, json: await r.json() };
      };
      const signup = await post(gw1.url, "/v1/auth/signup", { username: "twin", password: "password-123" });
      assert.equal(signup.status, 201);
      // the same user logs in through the other process: shared database and JWT key
      const login = await post(gw2.url, "/v1/auth/login", { username: "twin", password: "password-123" });
      assert.equal(login.status, 200);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          post(i % 2 ? gw2.url : gw1.url, "/v1/orders", {
            symbol: "BTC-USD",
            side: "BUY",
            type: "LIMIT",
            price: String(60000 + i),
            qty: "0.001",
            clientOrderId: `twin-${i}`,
          }, i % 3 ? signup.json.accessToken : login.json.accessToken)),
      );
      for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.equal(new Set(results.map((r) => r.json.orderId)).size, 40);
      const open = await fetch(`${gw2.url}/v1/orders/open`, {
        headers: { authorization: `Bearer ${signup.json.accessToken}` },
      });
      assert.equal((await open.json()).length, 40);
      const replyKeys = await rf.redis.keys(`${rf.prefix}:stream:replies:*`);
      assert.deepEqual(replyKeys.sort(), [
        `${rf.prefix}:stream:replies:gw-one`,
        `${rf.prefix}:stream:replies:gw-two`,
      ]);
      for (const gw of [gw1, gw2]) {
        const h = await fetch(`${gw.url}/healthz`);
        assert.equal(h.status, 200);
        await h.body?.cancel();
      }
    } finally {
      assert.equal(await gw1.stop(), 0, "SIGTERM ends the gateway with exit code 0");
      assert.equal(await gw2.stop(), 0);
    }
    assert.deepEqual(
      await rf.redis.keys(`${rf.prefix}:stream:replies:*`),
      [],
      "reply streams are removed on shutdown",
    );
  },
});

Deno.test({
  name: "an order that timed out while the engine was down is applied once; the retry returns it",
  ignore,
  async fn() {
    await using gw = await gatewayFixture({ settings: { engineTimeoutMs: 1500 } });
    let engine = await spawnEngine(gw.prefix);
    try {
      const s = await gw.signup();
      await engine.stop();
      const body = {
        symbol: "BTC-USD",
        side: "BUY",
        type: "LIMIT",
        price: "64000",
        qty: "0.01",
        clientOrderId: "retry-1",
      };
      const first = await gw.call("POST", "/v1/orders", { headers: s.headers, body });
      assert.equal(first.status, 504);
      assert.equal(first.json.code, "ENGINE_TIMEOUT");
      // it says what a retry answers, and where the order's state is now
      assert.match(first.json.detail, /same clientOrderId is safe.*200 with the order as it was placed/);
      engine = await spawnEngine(gw.prefix);
      const retry = await gw.call("POST", "/v1/orders", { headers: s.headers, body });
      assert.equal(retry.status, 200, retry.text);
      assert.equal(retry.json.clientOrderId, "retry-1");
      const open = await gw.call("GET", "/v1/orders/open", { headers: s.headers });
      assert.equal(open.json.length, 1, "one order, not two");
      assert.equal(open.json[0].orderId, retry.json.orderId);
    } finally {
      await engine.stop();
    }
  },
});

Deno.test("EngineClient answers 503 while Redis is down and writes commands again once it is back", async () => {
  const port = freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server = await startPrivateRedis(port);
  const redis = await connectRedis(url);
  const reader = new RespStreamReader(url);
  const client = new EngineClient({
    redis,
    reader,
    connectBatches: () => RespBatchConnection.connect(url),
    prefix: "kt:engine-client",
    gatewayId: "gw-outage",
    timeoutMs: 200,
    log: createLogger("gateway", { level: "error", pretty: false, write: () => {} }),
    metrics: new Registry(),
  });
  await client.start();
  const key = client.commandKey;
  /** The problem code a command ends with (no engine runs here: a written command times out). */
  const outcome = (userId: string) =>
    client.send({ type: "openAccount", userId }).then(() => "answered", (e: ApiError) => e.code);
  try {
    assert.equal(await outcome("u1"), "ENGINE_TIMEOUT", "written, and unanswered");
    assert.equal(await redis.xLen(key), 1);

    assert.equal(client.alive, true);
    // a restart while nothing is written: the first command after it goes out on a new connection
    // (the old one's socket is dead; writing on it failed the first request with a 503)
    await stopPrivateRedis(server);
    await waitFor(() => !client.alive, { what: "the reply reader reported down" });
    server = await startPrivateRedis(port);
    await waitFor(() => client.alive, { what: "the reply reader reading again" });
    assert.equal(await outcome("u2"), "ENGINE_TIMEOUT", "the first command after the restart is written");
    assert.equal(await redis.xLen(key), 1, "in the new server's stream");

    await stopPrivateRedis(server);
    assert.equal(await outcome("u3"), "ENGINE_UNAVAILABLE", "refused at once, not left to time out");
    await waitFor(() => !client.alive, { what: "the reply reader reported down" });

    server = await startPrivateRedis(port);
    await waitFor(async () => (await outcome("u4")) === "ENGINE_TIMEOUT", {
      what: "a command written after the restart",
    });
    await waitFor(async () => (await redis.xLen(key).catch(() => 0)) >= 1, {
      what: "the command in the stream",
    });
    await waitFor(() => client.alive, { what: "the reply reader reading again" });
  } finally {
    await client.close();
    redis.destroy();
    reader.close();
    await stopPrivateRedis(server);
  }
});
