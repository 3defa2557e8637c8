import assert from "node:assert/strict";
import { dbFixture, redisFixture } from "@lib/testing";
import { spawnGateway } from "./testing.ts";
import { RawClient } from "./ws/_testing.ts";

// The feed is mounted behind the gateway's own middleware: an upgrade must pass through it untouched
// (a 101 response's request is gone once the socket opens), and the process must keep serving.
Deno.test("the gateway process upgrades /v1/ws and /ws/trades through its middleware and keeps serving", async () => {
  await using rf = await redisFixture("gwws");
  await using db = await dbFixture();
  await using gw = await spawnGateway(rf.prefix, db.url, { KALENCY_RATE_LIMIT: "false" });
  for (const path of ["/v1/ws", "/ws/trades/BTC-USD"]) {
    const ws = new WebSocket(`${gw.url.replace("http", "ws")}${path}`);
    const opened = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      ws.onopen = () => (clearTimeout(timer), resolve(true));
      ws.onerror = () => (clearTimeout(timer), resolve(false));
    });
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      ws.onclose = () => (clearTimeout(timer), resolve());
    });
    ws.close();
    await closed;
    assert.ok(opened, `${path} opens`);
  }
  // a HEAD with the upgrade headers reached the GET handler, upgraded, and left the server unable
  // to answer anyone: it is refused, and the server goes on
  const head = await fetch(`${gw.url}/v1/ws`, {
    method: "HEAD",
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
    signal: AbortSignal.timeout(5000),
  });
  await head.body?.cancel();
  assert.equal(head.status, 405);
  // `Upgrade: WebSocket` is as valid as `websocket` (the token is case-insensitive)
  const port = Number(new URL(gw.url).port);
  const raw = await RawClient.open(port, "/v1/ws", "WebSocket"); // throws unless 101
  await raw.close();
  // a refused upgrade is an ordinary answer: it carries the headers every answer has
  const refused = await fetch(`${gw.url}/ws/trades/BTCUSD`, {
    headers: { upgrade: "WebSocket", connection: "Upgrade" },
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(refused.status, 400);
  assert.equal((await refused.json()).code, "INVALID_SYMBOL");
  assert.ok(refused.headers.get("x-request-id"));
  assert.equal(refused.headers.get("x-content-type-options"), "nosniff");
  const res = await fetch(`${gw.url}/v1/markets`, { signal: AbortSignal.timeout(5000) });
  await res.body?.cancel();
  assert.notEqual(res.status, 0);
  const health = await fetch(`${gw.url}/healthz`, { signal: AbortSignal.timeout(5000) });
  await health.body?.cancel();
  assert.ok(health.status === 200 || health.status === 503, "the process still answers");
  assert.equal(await gw.stop(), 0);
});
