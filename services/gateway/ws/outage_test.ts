import assert from "node:assert/strict";
import { STREAMS } from "@lib/contracts";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { connectRedis, publishBatch } from "@lib/redis";
import {
  freePort,
  startPrivateRedis as startRedis,
  stopPrivateRedis as stopRedis,
  waitFor,
} from "@lib/testing";
import { Hono } from "hono";
import { TestClient, trade } from "./_testing.ts";
import { createMarketFeed } from "./mod.ts";

Deno.test("the feed keeps its clients across a Redis restart and resumes delivering", async () => {
  const port = freePort();
  const url = `redis://127.0.0.1:${port}`;
  let redisServer = await startRedis(port);
  const lines: string[] = [];
  const controller = new AbortController();
  const feed = await createMarketFeed({
    redisUrl: url,
    prefix: "kt:outage",
    log: createLogger("gateway", { pretty: false, write: (l) => lines.push(l) }),
    metrics: new Registry(),
    authenticate: () => Promise.resolve(undefined),
    signal: controller.signal,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    new Hono().route("/", feed.routes).fetch,
  );
  const client = await TestClient.open(`ws://127.0.0.1:${server.addr.port}/v1/ws`);
  try {
    await client.request({ op: "subscribe", channels: ["trades.BTC-USD"] });
    const publisher = await connectRedis(url, { reconnect: false });
    await publishBatch(publisher, "kt:outage", STREAMS.executions, [trade("BTC-USD", 1)]);
    assert.equal((await client.take((m) => m.type === "trade")).data.seq, 1);
    await publisher.close();

    await stopRedis(redisServer);
    await waitFor(() => lines.some((l) => l.includes("stream read failed")), { what: "the outage noticed" });
    redisServer = await startRedis(port);

    // the restarted server is empty; its new entry ids are later than the readers' cursors
    const again = await connectRedis(url, { reconnect: false });
    try {
      await waitFor(async () => {
        await publishBatch(again, "kt:outage", STREAMS.executions, [trade("BTC-USD", 2)]);
        return client.messages.some((m) => m.type === "trade" && m.data.seq === 2);
      }, { what: "delivery after the restart", timeoutMs: 15_000, intervalMs: 500 });
    } finally {
      await again.close();
    }
    assert.equal(client.ws.readyState, WebSocket.OPEN);
    assert.ok(lines.some((l) => l.includes("stream read recovered")));
  } finally {
    await client.close();
    await feed.close();
    await server.shutdown();
    await stopRedis(redisServer);
  }
});
