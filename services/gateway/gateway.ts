/**
 * Wires the gateway from plain settings and open connections: engine client, auth, limits, read
 * models and the app. main.ts (env, signals, sockets) and the tests both build it this way.
 * @module
 */
import { PasswordWorkers } from "@lib/users";
import { readCandles } from "@lib/candles";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import type { Sql } from "@lib/db";
import { runHealthChecks } from "@lib/health";
import type { Logger } from "@lib/log";
import type { Registry } from "@lib/metrics";
import {
  type BatchConnection,
  compareStreamIds,
  type RedisClient,
  streamIdMs,
  type StreamReader,
} from "@lib/redis";
import { ApiKeyService } from "./api_keys.ts";
import { type CandleReader, createApp, type GatewayDeps, type RequestSource } from "./app.ts";
import { Authenticator } from "./auth.ts";
import { EngineClient } from "./engine_client.ts";
import { RateLimiter } from "./rate_limit.ts";
import { ReadModels } from "./read_models.ts";
import { TokenService } from "./tokens.ts";

export const VERSION = "1.0.0";

export interface GatewaySettings {
  prefix: string;
  gatewayId: string;
  jwtSecret: string;
  apiKeySecret: string;
  accessTtlSec: number;
  refreshTtlSec: number;
  engineTimeoutMs: number;
  engineStallMs: number;
  bodyLimitBytes: number;
  rateLimit: false | { windowMs: number; ip: number; user: number; auth: number };
  corsOrigins: string[] | "*";
  secureHeaders: boolean;
  readCacheMs: number;
  apiKeyCacheMs: number;
  recvWindowMs: number;
  /** key -> userId, when legacy unsigned keys are on. */
  legacyKeys?: Map<string, string>;
  trustProxy: boolean;
}

export interface GatewayResources {
  /** Shared connection for commands, reads, limits. */
  redis: RedisClient;
  /** The reply stream's reader, on a connection of its own; the gateway closes it. */
  reader: StreamReader;
  /** Opens the connection engine commands are written on (see EngineClient). */
  connectBatches: () => Promise<BatchConnection>;
  sql: Sql;
  log: Logger;
  metrics: Registry;
  mounts?: GatewayDeps["mounts"];
  /** Candle reads; default: lib/candles over these connections. */
  candles?: CandleReader;
  /** Client address when not behind a trusted proxy. */
  connAddress?: (c: RequestSource) => string | undefined;
}

/**
 * The client's address of a request, as the rate limits and the WebSocket cap see it: the last
 * X-Forwarded-For entry behind a trusted proxy, else the connection's own address.
 */
export function clientAddressOf(
  trustProxy: boolean,
  connAddress?: (c: RequestSource) => string | undefined,
): (c: RequestSource) => string {
  return (c) => {
    if (trustProxy) {
      // the last entry: the one the proxy in front of the gateway added. The ones before it come
      // from the client (a proxy appends to what it was sent) and would let it pick its own bucket.
      const fwd = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
      if (fwd) return fwd;
    }
    return connAddress?.(c) ?? "unknown";
  };
}

/** Fails when commands wait in the stream and the engine's checkpoint has not moved for `stallMs`. */
export async function engineHealth(redis: RedisClient, prefix: string, stallMs: number) {
  const [checkpoint, last] = await Promise.all([
    redis.get(keys.checkpoint(prefix)),
    redis.xRevRange(streamKey(prefix, STREAMS.orders), "+", "-", { COUNT: 1 }),
  ]);
  const lastCommandId = last?.[0]?.id;
  const detail = {
    checkpoint,
    checkpointAgeMs: checkpoint ? Date.now() - streamIdMs(checkpoint) : null,
    lastCommandId: lastCommandId ?? null,
  };
  const behind = lastCommandId && (!checkpoint || compareStreamIds(checkpoint, lastCommandId) < 0);
  if (behind) {
    // the oldest command still waiting tells a stall, not the newest: under steady traffic there
    // is always a new one, stalled engine or not
    const next = await redis.xRange(
      streamKey(prefix, STREAMS.orders),
      checkpoint ? `(${checkpoint}` : "-",
      "+",
      { COUNT: 1 },
    );
    const waiting = next?.[0]?.id;
    if (waiting && Date.now() - streamIdMs(waiting) > stallMs) {
      throw new Error(
        `engine has not applied a command waiting for more than ${stallMs} ms (checkpoint ${
          checkpoint ?? "none"
        }, oldest waiting ${waiting}, last ${lastCommandId})`,
      );
    }
  }
  return detail;
}

/**
 * A wired gateway; `close()` syncs the rate limit counts, stops the reply reader and finishes the
 * API keys' "last used" writes (the caller closes the connections).
 */
export async function buildGateway(s: GatewaySettings, r: GatewayResources) {
  const { redis, sql, log, metrics } = r;
  const engine = new EngineClient({
    redis,
    reader: r.reader,
    connectBatches: r.connectBatches,
    prefix: s.prefix,
    gatewayId: s.gatewayId,
    timeoutMs: s.engineTimeoutMs,
    log: log.child({ component: "engine-client" }),
    metrics,
  });
  await engine.start();
  const tokens = new TokenService(sql, {
    secret: s.jwtSecret,
    accessTtlSec: s.accessTtlSec,
    refreshTtlSec: s.refreshTtlSec,
  });
  const apiKeys = new ApiKeyService(sql, redis, {
    serverKey: s.apiKeySecret,
    cacheMs: s.apiKeyCacheMs,
    recvWindowMs: s.recvWindowMs,
    prefix: s.prefix,
  });
  const auth = new Authenticator({ tokens, apiKeys, legacyKeys: s.legacyKeys });
  // argon2id takes tens of milliseconds a password: on the event loop, every login would hold up
  // every order for that long
  const passwords = new PasswordWorkers(2);
  const limiter = s.rateLimit
    ? new RateLimiter({
      redis,
      prefix: s.prefix,
      windowMs: s.rateLimit.windowMs,
      log,
      rejected: metrics.counter("gateway_rate_limited_total", "Requests refused by a rate limit"),
    })
    : undefined;
  const reads = new ReadModels(redis, s.prefix, s.readCacheMs);
  const { app, registry, fetch } = createApp({
    redis,
    sql,
    prefix: s.prefix,
    engine,
    reads,
    tokens,
    apiKeys,
    auth,
    passwords,
    limiter,
    limits: s.rateLimit ? s.rateLimit : { ip: 0, user: 0, auth: 0 },
    log,
    metrics,
    candles: r.candles ?? ((q) => readCandles(redis, sql, s.prefix, q)),
    mounts: r.mounts,
    identity: () => ({ gatewayId: s.gatewayId, pendingReplies: engine.pending }),
    health: () =>
      runHealthChecks("gateway", {
        redis: () => redis.ping(),
        postgres: () => sql`SELECT 1`.then(() => undefined),
        replyReader: () => {
          if (!engine.alive) throw new Error("the engine reply reader is not running");
          return Promise.resolve({ pending: engine.pending, gatewayId: s.gatewayId });
        },
        engine: () => engineHealth(redis, s.prefix, s.engineStallMs),
      }),
    clientIp: clientAddressOf(s.trustProxy, r.connAddress),
    options: {
      bodyLimitBytes: s.bodyLimitBytes,
      corsOrigins: s.corsOrigins,
      secureHeaders: s.secureHeaders,
      version: VERSION,
      responseCacheMs: s.readCacheMs,
    },
  });
  return {
    app,
    fetch,
    registry,
    engine,
    auth,
    tokens,
    apiKeys,
    reads,
    limiter,
    close: async () => {
      await limiter?.close();
      await engine.close();
      await apiKeys.flush();
      await passwords.close();
    },
  };
}
