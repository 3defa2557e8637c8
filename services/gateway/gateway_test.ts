import assert from "node:assert/strict";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { freePort, redisFixture } from "@lib/testing";
import { Hono } from "hono";
import { clientAddressOf, engineHealth } from "./gateway.ts";
import { gatewayFixture, spawnGateway } from "./testing.ts";

Deno.test("engineHealth() fails only when commands wait unapplied longer than the stall limit", async () => {
  await using rf = await redisFixture("gwh");
  const orders = streamKey(rf.prefix, STREAMS.orders);
  assert.equal((await engineHealth(rf.redis, rf.prefix, 1000)).lastCommandId, null, "no commands: healthy");
  const old = `${Date.now() - 5000}-0`;
  await rf.redis.xAdd(orders, old, { type: "openAccount", payload: "{}" });
  await assert.rejects(engineHealth(rf.redis, rf.prefix, 1000), /has not applied a command waiting/);
  assert.ok(await engineHealth(rf.redis, rf.prefix, 60_000), "within the limit: healthy");
  // steady traffic behind a stalled engine: the newest command is fresh, the oldest waiting is not
  await rf.redis.xAdd(orders, "*", { type: "openAccount", payload: "{}" });
  await assert.rejects(engineHealth(rf.redis, rf.prefix, 1000), /oldest waiting/);
  await rf.redis.set(keys.checkpoint(rf.prefix), old);
  assert.ok(await engineHealth(rf.redis, rf.prefix, 1000), "only a fresh command waits: healthy");
  const newest = (await rf.redis.xRevRange(orders, "+", "-", { COUNT: 1 }))![0].id;
  await rf.redis.set(keys.checkpoint(rf.prefix), newest);
  const detail = await engineHealth(rf.redis, rf.prefix, 1000);
  assert.equal(detail.checkpoint, newest, "caught up: healthy however old the checkpoint");
});

Deno.test("/healthz answers 503 naming the failing check", async () => {
  await using gw = await gatewayFixture({ settings: { engineStallMs: 1000 } });
  await gw.redis.xAdd(streamKey(gw.prefix, STREAMS.orders), `${Date.now() - 5000}-0`, {
    type: "x",
    payload: "{}",
  });
  const r = await gw.call("GET", "/healthz");
  assert.equal(r.status, 503);
  assert.equal(r.json.status, "unavailable");
  assert.equal(r.json.checks.engine.ok, false);
  assert.match(r.json.checks.engine.error, /has not applied a command waiting/);
  assert.equal(r.json.checks.redis.ok, true);
});

Deno.test("clientAddressOf(): behind a trusted proxy the address it appended, never one the client sent", async () => {
  const seen: string[] = [];
  for (const trust of [true, false]) {
    const address = clientAddressOf(trust, () => "10.0.0.1");
    const app = new Hono().get("/", (c) => c.text(address(c)));
    for (
      const fwd of ["203.0.113.7", "198.51.100.9, 203.0.113.7", "1.2.3.4,5.6.7.8 , 203.0.113.7", undefined]
    ) {
      const res = await app.request("/", { headers: fwd ? { "x-forwarded-for": fwd } : {} });
      seen.push(`${trust} ${fwd}: ${await res.text()}`);
    }
  }
  assert.deepEqual(seen, [
    "true 203.0.113.7: 203.0.113.7",
    "true 198.51.100.9, 203.0.113.7: 203.0.113.7",
    "true 1.2.3.4,5.6.7.8 , 203.0.113.7: 203.0.113.7",
    "true undefined: 10.0.0.1",
    "false 203.0.113.7: 10.0.0.1",
    "false 198.51.100.9, 203.0.113.7: 10.0.0.1",
    "false 1.2.3.4,5.6.7.8 , 203.0.113.7: 10.0.0.1",
    "false undefined: 10.0.0.1",
  ]);
});

Deno.test("a gateway started while PostgreSQL is down stays up: health says so, log-in answers 503", async () => {
  await using rf = await redisFixture("gwpg");
  // nothing listens there: a PostgreSQL that is down
  const down = `postgres://postgres@127.0.0.1:${freePort()}/kalency`;
  await using gw = await spawnGateway(rf.prefix, down, {
    KALENCY_RATE_LIMIT: "false",
    KALENCY_ADMIN_USERNAME: "root-admin",
    KALENCY_ADMIN_PASSWORD: "an admin password",
  });
  // it exited over the admin account before; now it serves what needs no PostgreSQL
  const health = await fetch(`${gw.url}/healthz`);
  assert.equal(health.status, 503);
  assert.equal((await health.json()).checks.postgres.ok, false);
  const markets = await fetch(`${gw.url}/v1/markets`);
  await markets.body?.cancel();
  assert.equal(markets.status, 200);
  const login = await fetch(`${gw.url}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "root-admin", password: "an admin password" }),
  });
  assert.equal(login.status, 503, await login.text());
  assert.equal(await gw.stop(), 0);
});
