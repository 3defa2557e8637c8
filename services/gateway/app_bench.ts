/**
 * CPU cost of the gateway's HTTP layer per request (middlewares, auth, validation, serialization),
 * in process through the app's fetch (the response cache in front of Hono); the engine is replaced
 * by an immediate reply so only the gateway is measured. End-to-end numbers come from bench/run.ts. The keys it writes under its prefix expire a
 * minute after the process stops renewing them, and are deleted when the benchmarks are done (which
 * `deno bench` does not always wait for when it runs several files).
 */
import { keys, type OrderAck } from "@lib/contracts";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { connectRedis } from "@lib/redis";
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from "@lib/testing";
import { ApiKeyService } from "./api_keys.ts";
import { createApp } from "./app.ts";
import { Authenticator } from "./auth.ts";
import type { CommandDraft, EngineGateway } from "./engine_client.ts";
import { ReadModels } from "./read_models.ts";
import { TokenService } from "./tokens.ts";
import { DEFAULT_MARKETS } from "@lib/contracts";

const redis = await connectRedis(TEST_REDIS_URL);
const prefix = uniquePrefix("gwbench");
for (const m of DEFAULT_MARKETS) await redis.hSet(keys.markets(prefix), m.symbol, JSON.stringify(m));
await redis.set(
  keys.book(prefix, "BTC-USD"),
  JSON.stringify({
    symbol: "BTC-USD",
    seq: 1,
    bids: Array.from({ length: 50 }, (_, i) => ({ price: String(64000 - i), qty: "0.5", orders: 2 })),
    asks: Array.from({ length: 50 }, (_, i) => ({ price: String(65000 + i), qty: "0.5", orders: 2 })),
    ts: 1,
  }),
);
// the keys live a minute past the last renewal, so they go however the process ends
const KEYS = [keys.markets(prefix), keys.book(prefix, "BTC-USD")];
const renew = () => Promise.all(KEYS.map((key) => redis.pExpire(key, 60_000))).catch(() => {});
await renew();
const renewal = setInterval(renew, 15_000);
Deno.unrefTimer(renewal);
const sql = null as never;
const engine: EngineGateway = {
  send(c: CommandDraft) {
    const p = c as { userId: string; symbol: string; side: "BUY"; price: string; qty: string };
    const order: OrderAck = {
      orderId: "ord-1",
      userId: p.userId,
      symbol: p.symbol,
      side: p.side,
      type: "LIMIT",
      timeInForce: "GTC",
      postOnly: false,
      stp: "NONE",
      status: "ACCEPTED",
      price: p.price,
      qty: p.qty,
      filledQty: "0",
      remainingQty: p.qty,
      filledQuote: "0",
      avgPrice: "0",
      createdAt: 1,
      ts: 1,
    };
    return Promise.resolve({ ok: true, cmdId: "x", order });
  },
};
const tokens = new TokenService(sql, {
  secret: "bench-secret-0123456789",
  accessTtlSec: 900,
  refreshTtlSec: 60,
});
const apiKeys = new ApiKeyService(sql, redis, {
  serverKey: "k".repeat(20),
  cacheMs: 1000,
  recvWindowMs: 5000,
  prefix,
});
const { fetch: serve } = createApp({
  redis,
  sql,
  prefix,
  engine,
  reads: new ReadModels(redis, prefix, 20),
  tokens,
  apiKeys,
  auth: new Authenticator({ tokens, apiKeys }),
  limits: { ip: 0, user: 0, auth: 0 },
  log: createLogger("bench", { level: "error" }),
  metrics: new Registry(),
  identity: () => ({ gatewayId: "bench", pendingReplies: 0 }),
  health: () => Promise.resolve({ status: "ok", service: "gateway", checks: {} }),
  clientIp: () => "127.0.0.1",
  options: {
    bodyLimitBytes: 65536,
    corsOrigins: "*",
    secureHeaders: true,
    version: "bench",
    responseCacheMs: 20,
  },
});
const token = await tokens.accessToken({ userId: "usr_bench", role: "user" });
const body = JSON.stringify({ symbol: "BTC-USD", side: "BUY", type: "LIMIT", price: "64000", qty: "0.001" });

Deno.bench({
  name: "POST /v1/orders (engine replaced by an immediate ack)",
  group: "gateway",
  baseline: true,
}, async () => {
  const r = await serve(
    new Request("http://localhost/v1/orders", {
      method: "POST",
      body,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    }),
  );
  await r.text();
});

Deno.bench({ name: "GET /v1/markets/BTC-USD/book (cached)", group: "gateway" }, async () => {
  const r = await serve(new Request("http://localhost/v1/markets/BTC-USD/book"));
  await r.text();
});

Deno.bench({ name: "GET /v1/tickers (cached)", group: "gateway" }, async () => {
  const r = await serve(new Request("http://localhost/v1/tickers"));
  await r.text();
});

// once the benchmarks are done. The pending Redis replies alone do not keep the process alive at
// this point, so a timer does until the keys are gone.
let cleaned = false;
globalThis.addEventListener("beforeunload", () => {
  if (cleaned) return;
  cleaned = true;
  clearInterval(renewal);
  const keepAlive = setTimeout(() => {}, 60_000);
  void deletePrefix(redis, prefix)
    .catch((e) => console.error(`could not delete the keys under ${prefix}: ${e}`))
    .finally(() => {
      clearTimeout(keepAlive);
      return redis.close();
    });
});
