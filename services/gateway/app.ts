/**
 * The gateway's HTTP app: `createApp(deps)` builds every middleware and route from its
 * dependencies, so tests drive it with `app.request()` against real Redis and PostgreSQL.
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { routePath } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import type { z } from "zod";
import type { Candle, Timeframe } from "@lib/contracts";
import type { Sql } from "@lib/db";
import type { HealthReport } from "@lib/health";
import type { Logger } from "@lib/log";
import type { Registry } from "@lib/metrics";
import type { RedisClient } from "@lib/redis";
import type { ApiKeyService } from "./api_keys.ts";
import type { Authenticator } from "./auth.ts";
import type { EngineGateway } from "./engine_client.ts";
import { ApiError, errorHandler, notFoundHandler, problemResponse } from "./errors.ts";
import { type AuthLevel, RouteRegistry, type RouteSpec } from "./openapi.ts";
import type { Bucket, RateLimiter } from "./rate_limit.ts";
import type { ReadModels } from "./read_models.ts";
import type { Principal, TokenService } from "./tokens.ts";
import { parseBody, parseParams, parseQuery } from "./validate.ts";
import { accountRoutes } from "./routes/account.ts";
import { adminRoutes } from "./routes/admin.ts";
import { authRoutes } from "./routes/auth.ts";
import { marketRoutes } from "./routes/markets.ts";
import { opsRoutes } from "./routes/ops.ts";
import { orderRoutes } from "./routes/orders.ts";

export type GatewayEnv = {
  Variables: { principal: Principal | undefined; metricsRoute: string | undefined };
};

/** Reads candles for the candles route (the candle aggregator's read path). */
export type CandleReader = (query: {
  symbol: string;
  tf: Timeframe;
  from?: number;
  to?: number;
  limit: number;
  fill?: boolean;
  source: "trade" | "index";
}) => Promise<Candle[]>;

export interface GatewayDeps {
  redis: RedisClient;
  sql: Sql;
  prefix: string;
  engine: EngineGateway;
  reads: ReadModels;
  tokens: TokenService;
  apiKeys: ApiKeyService;
  auth: Authenticator;
  /** Undefined when rate limiting is off. */
  limiter?: RateLimiter;
  limits: { ip: number; user: number; auth: number };
  log: Logger;
  metrics: Registry;
  candles?: CandleReader;
  /** This process's id and load, for the admin status. */
  identity: () => { gatewayId: string; pendingReplies: number };
  /** Health report for /healthz: ok flag and details. */
  health: () => Promise<HealthReport>;
  /** The client address of a request (from the connection, or X-Forwarded-For behind a proxy). */
  clientIp: (c: Context) => string;
  options: {
    bodyLimitBytes: number;
    corsOrigins: string[] | "*";
    secureHeaders: boolean;
    version: string;
    /** How long whole public market-data responses are reused (0: never). */
    responseCacheMs?: number;
  };
  /** Extra routes mounted at "/" (the WebSocket feed); documented in the registry too. */
  mounts?: { routes: Hono<any>; describe: (method: string, path: string) => string }[];
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What a route handler gets besides the context. */
export interface RouteInput<B, Q, P> {
  body: Out<B>;
  query: Out<Q>;
  params: Out<P>;
  /** Set on every route whose auth is not "none". */
  principal: Principal;
}

export type RouteFn = <
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
>(
  spec: RouteSpec<B, Q, P>,
  handler: (c: Context<GatewayEnv>, input: RouteInput<B, Q, P>) => Response | Promise<Response>,
) => void;

/** Problem for a route needing a login. */
function unauthenticated(): ApiError {
  return new ApiError(
    401,
    "MISSING_AUTHENTICATION",
    "This route needs authentication: Authorization: Bearer <access token>, or a signed X-API-Key request",
  );
}

function makeRouter(app: Hono<GatewayEnv>, registry: RouteRegistry, deps: GatewayDeps): RouteFn {
  async function guard(c: Context<GatewayEnv>, auth: AuthLevel, rateLimit?: "auth") {
    let principal: Principal | undefined;
    if (auth !== "none") {
      principal = await deps.auth.identify(c);
      if (!principal) throw unauthenticated();
      if (auth === "admin" && principal.role !== "admin") {
        throw new ApiError(403, "ADMIN_REQUIRED", "This route needs the admin role");
      }
    }
    if (deps.limiter) {
      const ip = deps.clientIp(c);
      const buckets: Bucket[] = [{ scope: "ip", id: ip, limit: deps.limits.ip }];
      if (principal) buckets.push({ scope: "user", id: principal.userId, limit: deps.limits.user });
      if (rateLimit === "auth") buckets.push({ scope: "auth", id: ip, limit: deps.limits.auth });
      await deps.limiter.check(buckets);
    }
    c.set("principal", principal);
    return principal;
  }

  return function route(spec, handler) {
    registry.add(spec as RouteSpec);
    app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      const principal = await guard(c, spec.auth, spec.rateLimit);
      const params = spec.params ? parseParams(c, spec.params) : undefined;
      const query = spec.query ? parseQuery(c, spec.query) : undefined;
      const body = spec.body ? await parseBody(c, spec.body) : undefined;
      return await handler(c, { body, query, params, principal: principal! } as never);
    });
  };
}

/**
 * Reuses whole responses of public market-data GETs (routes with `cache: true`) for `ttlMs`, keyed
 * by path and query, before the rest of the middleware chain runs: the hottest reads then cost one
 * map lookup. The read models underneath are refreshed at most every `ttlMs` anyway.
 */
function responseCache(registry: RouteRegistry, ttlMs: number, limit?: (c: Context) => Promise<void>) {
  const entries = new Map<
    string,
    { body: string; headers: [string, string][]; route: string; until: number }
  >();
  let cacheable: Set<string> | undefined;
  return async function cacheResponse(c: Context<GatewayEnv>, next: () => Promise<void>) {
    if (c.req.method !== "GET") return await next();
    const url = c.req.url;
    const key = url.slice(url.indexOf("/", 8));
    const now = performance.now();
    const hit = entries.get(key);
    if (hit && hit.until > now) {
      c.set("metricsRoute", hit.route);
      if (limit) await limit(c); // a reused response still counts against the client's limit
      const headers = new Headers(hit.headers);
      headers.set("x-request-id", crypto.randomUUID());
      return new Response(hit.body, { status: 200, headers });
    }
    await next();
    cacheable ??= new Set(registry.routes.filter((r) => r.cache).map((r) => r.path));
    const route = routePath(c, -1);
    if (c.res.status !== 200 || !cacheable.has(route)) return;
    const body = await c.res.clone().text();
    const headers = [...c.res.headers].filter(([k]) => k !== "x-request-id");
    if (entries.size >= 10_000) entries.clear();
    entries.set(key, { body, headers, route, until: now + ttlMs });
  };
}

/** Builds the gateway app. */
export function createApp(deps: GatewayDeps): { app: Hono<GatewayEnv>; registry: RouteRegistry } {
  const app = new Hono<GatewayEnv>();
  const registry = new RouteRegistry();
  const requests = deps.metrics.counter("http_requests_total", "HTTP requests by method, route and status");
  const latency = deps.metrics.histogram(
    "http_request_duration_seconds",
    "HTTP request latency by method, route and status",
  );

  app.use("*", async function measure(c, next) {
    const t0 = performance.now();
    await next();
    const matched = c.get("metricsRoute") ?? routePath(c, -1);
    const route = !matched || matched === "*" || matched === "/*" ? "unmatched" : matched;
    const labels = { method: c.req.method, route, status: c.res.status };
    requests.inc(labels);
    latency.observe((performance.now() - t0) / 1000, labels);
    if (c.res.status >= 500) {
      deps.log.warn("request failed", { method: c.req.method, path: c.req.path, status: c.res.status });
    }
  });
  const cacheMs = deps.options.responseCacheMs ?? 0;
  // the response does not depend on the Origin only when every origin is allowed
  if (cacheMs > 0 && deps.options.corsOrigins === "*") {
    const limiter = deps.limiter;
    const limitIp = limiter
      ? (c: Context) => limiter.check([{ scope: "ip", id: deps.clientIp(c), limit: deps.limits.ip }])
      : undefined;
    app.use("*", responseCache(registry, cacheMs, limitIp));
  }
  app.use("*", requestId({ headerName: "X-Request-Id" }));
  if (deps.options.secureHeaders) {
    app.use(
      "*",
      secureHeaders({ crossOriginResourcePolicy: "cross-origin", crossOriginEmbedderPolicy: false }),
    );
  }
  app.use(
    "*",
    cors({
      origin: deps.options.corsOrigins === "*" ? "*" : deps.options.corsOrigins,
      allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
      allowHeaders: [
        "Authorization",
        "Content-Type",
        "X-API-Key",
        "X-Timestamp",
        "X-Signature",
        "X-Recv-Window",
        "X-Request-Id",
      ],
      exposeHeaders: [
        "Retry-After",
        "X-Request-Id",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
      ],
      maxAge: 600,
    }),
  );
  app.use(
    "*",
    bodyLimit({
      maxSize: deps.options.bodyLimitBytes,
      onError: () =>
        problemResponse(
          413,
          "PAYLOAD_TOO_LARGE",
          `Request body is larger than the limit of ${deps.options.bodyLimitBytes} bytes`,
        ),
    }),
  );

  const route = makeRouter(app, registry, deps);
  opsRoutes(route, deps, registry);
  authRoutes(route, deps);
  orderRoutes(route, deps);
  accountRoutes(route, deps);
  marketRoutes(route, deps);
  adminRoutes(route, deps);

  for (const mount of deps.mounts ?? []) {
    app.route("/", mount.routes);
    for (const r of mount.routes.routes) {
      if (r.method === "ALL") continue;
      registry.add({
        method: r.method.toLowerCase() as RouteSpec["method"],
        path: r.path,
        summary: mount.describe(r.method, r.path),
        tags: ["websocket"],
        auth: "none",
        responses: { 101: { description: "Switching Protocols (WebSocket)" } },
      });
    }
  }

  app.notFound(notFoundHandler);
  app.onError(errorHandler(deps.log));
  return { app, registry };
}
