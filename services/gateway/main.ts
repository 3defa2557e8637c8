/**
 * The gateway process: REST /v1, auth, rate limits, the engine command path and the WebSocket feed.
 * Config -> resources -> wiring -> serve until SIGINT/SIGTERM -> close in reverse -> exit 0.
 * @module
 */
// first, so that a signal while the rest loads still stops the service cleanly
import "@lib/lifecycle/early";
import { listening } from "@lib/health";
import { connectDb } from "@lib/db";
import { createShutdown, sleep } from "@lib/lifecycle";
import { createLogger, type Logger, LogThrottle } from "@lib/log";
import { addProcessMetrics, Registry } from "@lib/metrics";
import {
  connectRedis,
  nodeRedisStreamReader,
  RespBatchConnection,
  RespStreamReader,
  type StreamReader,
} from "@lib/redis";
import { loadServiceConfig, redisWaiting, runMain } from "@lib/service";
import { ensureUser } from "@lib/users";
import type { Authenticator } from "./auth.ts";
import { GatewayConfig, parseLegacyKeys } from "./config.ts";
import type { RequestSource } from "./app.ts";
import { buildGateway, clientAddressOf, type GatewayResources } from "./gateway.ts";
import { createMarketFeed } from "./ws/mod.ts";

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

async function main(): Promise<void> {
  const loaded = loadServiceConfig("gateway", GatewayConfig);
  if (!loaded) Deno.exit(2); // the message named each bad variable
  const config = loaded;
  const log: Logger = createLogger("gateway", { level: config.LOG_LEVEL });
  const metrics = new Registry();
  addProcessMetrics(metrics, "gateway");
  const shutdown = createShutdown({
    onClose: (name, error) =>
      error ? log.warn("close failed", { name, error }) : log.debug("closed", { name }),
  });
  const gatewayId = config.KALENCY_GATEWAY_ID ?? `gw-${randomHex(6)}`;

  let jwtSecret = config.KALENCY_JWT_SECRET;
  if (!jwtSecret) {
    jwtSecret = randomHex(32);
    log.warn("KALENCY_JWT_SECRET is unset: using a random key; tokens end with this process");
  }
  let apiKeySecret = config.KALENCY_API_KEY_SECRET;
  if (!apiKeySecret) {
    apiKeySecret = config.KALENCY_JWT_SECRET ?? jwtSecret;
    log.warn("KALENCY_API_KEY_SECRET is unset: deriving API secrets from the JWT key (dev only)");
  }

  // node-redis reports every failed reconnect: a few lines a minute say it, with the count between
  const redisErrors = new LogThrottle(5000);
  const onRedisError = (e: Error) => {
    const suppressed = redisErrors.allow("redis");
    if (suppressed !== undefined) log.warn("redis error", { error: e.message, suppressed });
  };
  // requests fail fast (503) while Redis is unreachable instead of waiting for the reconnect
  const redis = await connectRedis(config.REDIS_URL, {
    name: `kalency-${gatewayId}`,
    onError: onRedisError,
    onWaiting: redisWaiting(log, config.REDIS_URL),
    signal: shutdown.signal,
    failFast: true,
  });
  shutdown.defer("redis", () => redis.close());
  // the reply stream is read with a RESP reader of its own (node-redis for TLS connections); the
  // gateway closes it
  const tlsReader = async () => {
    const client = await connectRedis(config.REDIS_URL, {
      name: `kalency-${gatewayId}-replies`,
      onError: onRedisError,
      signal: shutdown.signal,
    });
    shutdown.defer("reply reader connection", () => client.destroy());
    return nodeRedisStreamReader(client);
  };
  const reader: StreamReader = config.REDIS_URL.startsWith("rediss:")
    ? await tlsReader()
    : new RespStreamReader(config.REDIS_URL);
  const sql = connectDb(config.DATABASE_URL, { max: 10 });
  shutdown.defer("postgres", () => sql.end({ timeout: 5 }));

  const mounts: NonNullable<GatewayResources["mounts"]> = [];

  // the feed is mounted into the app, and its logins use the app's authenticator: a late binding
  const authRef: { current?: Authenticator } = {};
  // Deno.serve's connection info, which Hono passes on as the context's env
  const connAddress = (c: RequestSource) =>
    (c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined)?.remoteAddr?.hostname;
  const clientAddress = clientAddressOf(config.KALENCY_TRUST_PROXY, connAddress);
  const feed = config.KALENCY_WS
    ? await createMarketFeed({
      redisUrl: config.REDIS_URL,
      prefix: config.KALENCY_PREFIX,
      log: log.child({ component: "ws" }),
      metrics,
      authenticate: async (token: string) => {
        const p = await authRef.current?.token(token);
        return p ? { userId: p.userId, role: p.role } : undefined;
      },
      signal: shutdown.signal,
      options: { maxPerAddress: config.KALENCY_WS_MAX_PER_ADDRESS, addressOf: clientAddress },
    })
    : undefined;
  if (feed) mounts.push({ routes: feed.routes, describe: (_m: string, path: string) => `WebSocket ${path}` });
  else log.info("WebSocket feed off (KALENCY_WS=false): REST only");

  const gateway = await buildGateway({
    prefix: config.KALENCY_PREFIX,
    gatewayId,
    jwtSecret,
    apiKeySecret,
    accessTtlSec: config.KALENCY_ACCESS_TOKEN_TTL_SEC,
    refreshTtlSec: config.KALENCY_REFRESH_TOKEN_TTL_SEC,
    engineTimeoutMs: config.KALENCY_ENGINE_TIMEOUT_MS,
    engineStallMs: config.KALENCY_ENGINE_STALL_MS,
    bodyLimitBytes: config.KALENCY_BODY_LIMIT_BYTES,
    rateLimit: config.KALENCY_RATE_LIMIT
      ? {
        windowMs: config.KALENCY_RATE_LIMIT_WINDOW_MS,
        ip: config.KALENCY_RATE_LIMIT_IP,
        user: config.KALENCY_RATE_LIMIT_USER,
        auth: config.KALENCY_RATE_LIMIT_AUTH,
      }
      : false,
    corsOrigins: config.KALENCY_CORS_ORIGINS.trim() === "*"
      ? "*"
      : config.KALENCY_CORS_ORIGINS.split(",").map((s) => s.trim()).filter(Boolean),
    secureHeaders: config.KALENCY_SECURE_HEADERS,
    readCacheMs: config.KALENCY_READ_CACHE_MS,
    apiKeyCacheMs: config.KALENCY_API_KEY_CACHE_MS,
    recvWindowMs: config.KALENCY_RECV_WINDOW_MS,
    legacyKeys: config.KALENCY_LEGACY_API_KEYS ? parseLegacyKeys(config.API_KEYS) : undefined,
    trustProxy: config.KALENCY_TRUST_PROXY,
  }, {
    redis,
    reader,
    connectBatches: () => RespBatchConnection.connect(config.REDIS_URL),
    sql,
    log,
    metrics,
    mounts,
    connAddress,
  });
  authRef.current = gateway.auth;
  shutdown.defer("engine client", () => gateway.close());

  if (config.KALENCY_ADMIN_USERNAME && config.KALENCY_ADMIN_PASSWORD) {
    const username = config.KALENCY_ADMIN_USERNAME;
    const password = config.KALENCY_ADMIN_PASSWORD;
    const ensureAdmin = async () => {
      const { user, created } = await ensureUser(sql, { username, password, role: "admin" });
      log.info(created ? "admin created" : "admin present", { username: user.username, userId: user.userId });
      gateway.engine.send({ type: "openAccount", userId: user.userId }).catch(() => {});
    };
    // before listening, so the admin can log in once the gateway answers; when PostgreSQL is down,
    // retried in the background: orders and market data do not need it, so the gateway serves them
    // meanwhile instead of exiting over the admin account
    await ensureAdmin().catch((e) => {
      log.warn("cannot create or update the admin yet (PostgreSQL?); retrying every 2 s", { error: e });
      void (async () => {
        while (!shutdown.signal.aborted) {
          await sleep(2000, shutdown.signal);
          if (shutdown.signal.aborted) return;
          try {
            return await ensureAdmin();
          } catch { /* still down: said once above */ }
        }
      })();
    });
  }

  const server = listening(config.KALENCY_GATEWAY_PORT, "KALENCY_GATEWAY_PORT", () =>
    Deno.serve({
      hostname: config.KALENCY_HOST,
      port: config.KALENCY_GATEWAY_PORT,
      reusePort: config.KALENCY_REUSE_PORT,
      onListen: ({ hostname, port }) =>
        log.info("listening", {
          url: `http://${hostname}:${port}`,
          gatewayId,
          prefix: config.KALENCY_PREFIX,
        }),
    }, gateway.fetch));
  // closers run last-registered first: WebSocket clients are closed (their connections would keep
  // server.shutdown() waiting), then the server drains HTTP, then what requests used is closed
  shutdown.defer("http server", () => server.shutdown());
  if (feed) shutdown.defer("websocket feed", () => feed.close());

  await shutdown.done;
  log.info("stopped");
}

if (import.meta.main) await runMain(main);
