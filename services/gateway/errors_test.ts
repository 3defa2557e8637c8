import assert from "node:assert/strict";
import { Hono } from "hono";
import postgres from "postgres";
import { createLogger } from "@lib/log";
import { connectRedis } from "@lib/redis";
import { freePort, startPrivateRedis, stopPrivateRedis } from "@lib/testing";
import { errorHandler, unreachableStore } from "./errors.ts";

/** The problem the gateway's error handler makes of an error a route threw. */
async function answerTo(err: Error): Promise<{ status: number; body: { code: string; detail: string } }> {
  const app = new Hono();
  app.get("/x", () => {
    throw err;
  });
  app.onError(errorHandler(createLogger("t", { level: "error", pretty: false, write: () => {} })));
  const res = await app.request("/x");
  return { status: res.status, body: await res.json() };
}

Deno.test({
  name: "a request that needs a store that is down gets a 503 at once, not a hang or a 500",
  // node-redis waits out its reconnect delay with a node:timers/promises timeout that destroy()
  // cannot cancel; on a busy machine the test can end before that timer does
  sanitizeOps: false,
}, async () => {
  const port = freePort();
  const server = await startPrivateRedis(port);
  const redis = await connectRedis(`redis://127.0.0.1:${port}`, { failFast: true });
  let redisError: Error | undefined;
  try {
    await stopPrivateRedis(server);
    const t0 = performance.now();
    // the first command may still meet the closing socket; a later one finds the client offline
    for (let i = 0; i < 20 && !redisError; i++) {
      redisError = await redis.get("k").then(() => undefined, (e) => e);
      if (!redisError) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(redisError, "a command failed");
    assert.ok(performance.now() - t0 < 3000, "without waiting for the reconnect");
  } finally {
    redis.destroy();
  }
  // node-redis waits out its reconnect delay (at most 2 s, see makeClient) on a timer destroy()
  // does not cancel: let it run out here, or the test may end before it
  const reconnectWait = new Promise((r) => setTimeout(r, 2100));
  assert.equal(
    unreachableStore(redisError),
    "Redis",
    `${redisError?.name}: ${redisError?.message} ${(redisError as { code?: string })?.code}`,
  );
  const answer = await answerTo(redisError!);
  assert.equal(answer.status, 503);
  assert.equal(answer.body.code, "SERVICE_UNAVAILABLE");
  assert.match(answer.body.detail, /^The gateway cannot reach Redis right now \(.+\); try again shortly$/);

  const sql = postgres(`postgres://postgres@127.0.0.1:${freePort()}/none`, { max: 1, connect_timeout: 2 });
  const pgError = await sql`SELECT 1`.then(() => undefined, (e) => e as Error);
  await sql.end();
  assert.ok(unreachableStore(pgError), `${pgError?.name} ${(pgError as { code?: string })?.code}`);
  assert.equal((await answerTo(pgError!)).status, 503);

  // a Redis that answers but cannot serve yet (loading its data after a restart) is down for now too
  for (
    const text of ["LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script"]
  ) {
    const reply = Object.assign(new Error(text), { name: "ErrorReply" });
    assert.equal(unreachableStore(reply), "Redis", text);
    assert.equal((await answerTo(reply)).status, 503);
  }
  assert.equal(unreachableStore(new Error("bug")), undefined);
  assert.equal((await answerTo(new Error("bug"))).status, 500);
  await reconnectWait;
});

Deno.test("a store that is down is logged every few seconds with a count, not once per request", async () => {
  const lines: string[] = [];
  const app = new Hono();
  app.get("/x", () => {
    throw Object.assign(new Error("LOADING Redis is loading the dataset in memory"), { name: "ErrorReply" });
  });
  app.onError(errorHandler(createLogger("t", { level: "warn", pretty: false, write: (l) => lines.push(l) })));
  for (let i = 0; i < 50; i++) assert.equal((await app.request("/x")).status, 503);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0], /a store is unreachable/);
  assert.doesNotMatch(lines[0], /\bat .*\.ts:\d+/, "no stack trace");
});
