/**
 * The gateway's HTTP app: `createApp(deps)` builds every middleware and route from its
 * dependencies, and the `fetch` that serves it (the response cache in front of Hono), which tests
 * call in process against real Redis and PostgreSQL.
 * @module
 */
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { ResponseCache } from "./response_cache.ts";
import { readLimitedBody } from "./body_limit.ts";
import { routePath } from "hono/route";
import type { z } from "zod";
import type { Candle, Timeframe } from "@lib/contracts";
import type { Sql } from "@lib/db";
import type { PasswordHasher } from "@lib/users";
import type { HealthReport } from "@lib/health";
import type { Logger } from "@lib/log";
import type { Registry } from "@lib/metrics";
import type { RedisClient } from "@lib/redis";
import type { ApiKeyService } from "./api_keys.ts";
import type { Authenticator } from "./auth.ts";
import type { EngineGateway } from "./engine_client.ts";
import { ApiError, errorHandler, notFoundHandler, problemResponse } from "./errors.ts";
import { isWebSocketPath } from "./ws/routes.ts";
import { asksForWebSocket } from "./ws/upgrade.ts";
import { type AuthLevel, openApiPath, RouteRegistry, type RouteSpec } from "./openapi.ts";
import { SymbolParams } from "./schemas.ts";
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
  Variables: { principal: Principal | undefined };
};

/** Reads candles for the candles route (the candle aggregator's read path). */
export type CandleReader = (query: {
  symbol: string;
  tf: Timeframe;
  from?: number;
  to?: number;
  limit?: number;
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
  /** Where signup and login hash and check passwords: workers, so a login does not stall the others. */
  passwords?: PasswordHasher;
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
  clientIp: (c: RequestSource) => string;
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

/**
 * What a client address is read from: a request's headers and the server's connection info
 * (`Deno.ServeHandlerInfo`). A Hono context is one; `sourceOf` makes one of a bare request.
 */
export interface RequestSource {
  req: { header(name: string): string | undefined };
  env?: unknown;
}

function sourceOf(req: Request, info: unknown): RequestSource {
  return { req: { header: (name) => req.headers.get(name) ?? undefined }, env: info };
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

/** Refusals of a credential that was presented and is not genuine (not missing, not just expired). */
const GUESSES = new Set(["INVALID_TOKEN", "INVALID_API_KEY", "INVALID_SIGNATURE"]);

function makeRouter(app: Hono<GatewayEnv>, registry: RouteRegistry, deps: GatewayDeps): RouteFn {
  const badCredentials = (ip: string): Bucket => ({ scope: "credentials", id: ip, limit: deps.limits.auth });
  async function guard(c: Context<GatewayEnv>, auth: AuthLevel, rateLimit?: "auth" | "none") {
    let principal: Principal | undefined;
    if (auth !== "none") {
      if (deps.limiter && c.req.header("x-api-key") !== undefined) {
        // an API key is looked up in the database: once an address has sent too many credentials
        // that failed, its key requests are refused before the lookup
        const bucket = badCredentials(deps.clientIp(c));
        if (deps.limiter.isOver(bucket)) deps.limiter.check([bucket]);
      }
      try {
        principal = await deps.auth.identify(c);
        if (!principal) throw unauthenticated();
      } catch (e) {
        // Credentials that fail verification are counted per address, so that guessing tokens or
        // keys is as limited as guessing passwords. Their own bucket: logins do not use it up, and a
        // missing or merely expired credential is no guess and is not counted.
        if (deps.limiter && e instanceof ApiError && GUESSES.has(e.code)) {
          const ip = deps.clientIp(c);
          deps.limiter.check([{ scope: "ip", id: ip, limit: deps.limits.ip }, badCredentials(ip)]);
        }
        throw e;
      }
      // admin routes are few and rare: they ask the database (a demoted admin keeps no route)
      if (auth === "admin" && await deps.auth.currentRole(principal) !== "admin") {
        throw new ApiError(403, "ADMIN_REQUIRED", "This route needs the admin role");
      }
    }
    if (deps.limiter && rateLimit !== "none") {
      const ip = deps.clientIp(c);
      const buckets: Bucket[] = [{ scope: "ip", id: ip, limit: deps.limits.ip }];
      if (principal) buckets.push({ scope: "user", id: principal.userId, limit: deps.limits.user });
      deps.limiter.check(buckets);
      // a small limit on password routes: exact across gateways (see rate_limit.ts)
      if (rateLimit === "auth") {
        await deps.limiter.checkShared([{ scope: "auth", id: ip, limit: deps.limits.auth }]);
      }
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
 * The headers hono/secure-headers sets with this app's options (its defaults, a cross-origin
 * resource policy and no embedder policy); app_test.ts checks the list against the middleware.
 */
export const SECURE_HEADERS: readonly [string, string][] = [
  ["cross-origin-resource-policy", "cross-origin"],
  ["cross-origin-opener-policy", "same-origin"],
  ["origin-agent-cluster", "?1"],
  ["referrer-policy", "no-referrer"],
  ["strict-transport-security", "max-age=15552000; includeSubDomains"],
  ["x-content-type-options", "nosniff"],
  ["x-dns-prefetch-control", "off"],
  ["x-download-options", "noopen"],
  ["x-frame-options", "SAMEORIGIN"],
  ["x-permitted-cross-domain-policies", "none"],
  ["x-xss-protection", "0"],
];

/**
 * The security headers of API responses (JSON and problems): the ones that matter for a response
 * no browser renders as a page, as the OWASP REST security cheat sheet lists them. The rest of
 * {@linkcode SECURE_HEADERS} (opener and agent-cluster policies, DNS prefetch, legacy IE, Flash and
 * XSS-auditor switches) only concern documents; the HTML page (`/docs`) gets them all. Each header
 * costs about 1.3 µs to build into a Deno Response, which read requests measurably felt.
 */
export const API_SECURITY_HEADERS: readonly [string, string][] = SECURE_HEADERS.filter(([name]) =>
  [
    "cross-origin-resource-policy",
    "referrer-policy",
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
  ].includes(name)
);

const CORS_ALLOW_HEADERS = [
  "Authorization",
  "Content-Type",
  "X-API-Key",
  "X-Timestamp",
  "X-Signature",
  "X-Recv-Window",
  "X-Request-Id",
];
const CORS_EXPOSE_HEADERS = [
  "Retry-After",
  "X-Request-Id",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
];

/** Methods counted by name in the request metrics; others count as "OTHER". */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** A client's X-Request-Id when it is usable (as hono/request-id accepts it), else a new one. */
function requestIdOf(given: string | undefined): string {
  return given && given.length <= 255 && !/[^\w\-=]/.test(given) ? given : crypto.randomUUID();
}

interface CachedResponse {
  /** The response without a request id; each hit sends a clone (cheap: no header is rebuilt). */
  template: Response;
  route: string;
}

/** Builds the gateway app. */
export function createApp(deps: GatewayDeps): {
  app: Hono<GatewayEnv>;
  registry: RouteRegistry;
  fetch: (req: Request, info?: unknown) => Response | Promise<Response>;
} {
  const app = new Hono<GatewayEnv>({ strict: false }); // "/v1/orders/open/" as well, as the original matched it
  const registry = new RouteRegistry();
  const requests = deps.metrics.counter("http_requests_total", "HTTP requests by method, route and status");
  const latency = deps.metrics.histogram(
    "http_request_duration_seconds",
    "HTTP request latency by method, route and status",
  );
  // one labels object per method, route and status, built once
  const labelSets = new Map<string, Readonly<{ method: string; route: string; status: number }>>();
  function labelsOf(method: string, route: string, status: number) {
    const key = `${method} ${status} ${route}`;
    let labels = labelSets.get(key);
    if (!labels) {
      labels = Object.freeze({ method, route, status }); // frozen: the metrics keep its series key
      if (labelSets.size < 10_000) labelSets.set(key, labels);
    }
    return labels;
  }
  /** Counts a finished request in the metrics; `t0` is performance.now() at its start. */
  function count(method: string, route: string, status: number, t0: number): void {
    const labels = labelsOf(method, route, status);
    requests.inc(labels);
    latency.observe((performance.now() - t0) / 1000, labels);
  }

  // The headers every response carries, set once per request on the context's prepared headers
  // (before the handler builds its Response, so that Response is the only one). Handlers that
  // return a Response of their own (problems, mounted routes) get them added afterwards.
  const anyOrigin = deps.options.corsOrigins === "*";
  const allowed = new Set(anyOrigin ? [] : deps.options.corsOrigins);
  const fixed: [string, string][] = [
    ...(deps.options.secureHeaders ? API_SECURITY_HEADERS : []),
    ...(anyOrigin ? [["access-control-allow-origin", "*"] as [string, string]] : []),
    ["access-control-expose-headers", CORS_EXPOSE_HEADERS.join(",")],
  ];
  const preflight = cors({
    origin: anyOrigin ? "*" : deps.options.corsOrigins,
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: 600,
  });
  const tooLarge = () =>
    problemResponse(
      413,
      "PAYLOAD_TOO_LARGE",
      `Request body is larger than the limit of ${deps.options.bodyLimitBytes} bytes`,
    );

  function addFixedHeaders(c: Context, id: string): void {
    setFixedHeaders(c.res.headers, id, c.req.header("origin"));
  }
  function setFixedHeaders(headers: Headers, id: string, origin: string | null | undefined): void {
    for (const [k, v] of fixed) headers.set(k, v);
    headers.set("x-request-id", id);
    if (!anyOrigin) {
      if (origin && allowed.has(origin)) headers.set("access-control-allow-origin", origin);
      headers.append("vary", "Origin");
    }
  }

  const cacheMs = deps.options.responseCacheMs ?? 0;
  // the response does not depend on the Origin only when every origin is allowed
  const useCache = cacheMs > 0 && anyOrigin;
  const cache = new ResponseCache<CachedResponse>();
  // a market listed, paused or resumed must show at once, not after the cache window
  deps.reads.onMarketsChanged(() => cache.clear());
  let cacheable: Set<string> | undefined;
  const limiter = deps.limiter;

  async function handle(c: Context<GatewayEnv>, next: () => Promise<void>, id: string): Promise<void> {
    const method = c.req.method;
    if (asksForWebSocket(c.req.header("upgrade")) && isWebSocketPath(c.req.path)) {
      if (method === "GET") {
        // a WebSocket upgrade answers with Deno's own 101 response, whose request is gone once
        // the socket is open: reading or adding headers then throws, so upgrades pass straight
        // through. Only a GET to a WebSocket route: elsewhere the header alone skips nothing.
        // A refusal (bad symbol, too many connections) is an ordinary answer and gets the headers
        await next();
        if (c.res.status !== 101) addFixedHeaders(c, id);
        return;
      }
      // an upgrade is a GET; any other method (HEAD would reach the GET handler and upgrade)
      c.res = problemResponse(405, "METHOD_NOT_ALLOWED", `A WebSocket upgrade is a GET, not ${method}`);
      c.res.headers.set("allow", "GET");
      addFixedHeaders(c, id);
      return;
    }
    if (method === "OPTIONS") {
      const res = await preflight(c, next);
      if (res) c.res = res;
      addFixedHeaders(c, id);
      return;
    }
    const length = c.req.header("content-length");
    if (length !== undefined && !c.req.header("transfer-encoding")) {
      if (parseInt(length, 10) > deps.options.bodyLimitBytes) {
        c.res = tooLarge();
        addFixedHeaders(c, id);
        return;
      }
    } else if (method !== "GET" && method !== "HEAD") {
      // a body of unknown length (chunked) is measured as it is read
      const limited = await readLimitedBody(c.req.raw, deps.options.bodyLimitBytes);
      if (limited === "too-large") {
        c.res = tooLarge();
        addFixedHeaders(c, id);
        return;
      }
      c.req.raw = limited;
    }
    await handle2(c, next, id);
    if (c.res.headers.get("x-request-id") !== id) addFixedHeaders(c, id);
  }

  async function handle2(c: Context<GatewayEnv>, next: () => Promise<void>, id: string): Promise<void> {
    for (const [k, v] of fixed) c.header(k, v);
    c.header("x-request-id", id);
    if (!anyOrigin) {
      const origin = c.req.header("origin");
      if (origin && allowed.has(origin)) c.header("access-control-allow-origin", origin);
      c.header("vary", "Origin");
    }
    await next();
    if (!useCache || c.req.method !== "GET") return;
    cacheable ??= new Set(registry.routes.filter((r) => r.cache).map((r) => r.path));
    const route = routePath(c, -1);
    if (c.res.status !== 200 || !cacheable.has(route)) return;
    const url = c.req.url;
    const body = await c.res.clone().text();
    const template = new Response(body, { status: 200, headers: c.res.headers });
    template.headers.delete("x-request-id");
    const now = performance.now();
    // length in UTF-16 units: the answers are ASCII JSON, so it is their size in bytes
    cache.set(url.slice(url.indexOf("/", 8)), { template, route }, body.length, now + cacheMs, now);
  }

  app.use("*", async function frame(c, next) {
    const t0 = performance.now();
    await handle(c, next, requestIdOf(c.req.header("x-request-id")));
    const matched = routePath(c, -1);
    const route = !matched || matched === "*" || matched === "/*" ? "unmatched" : matched;
    const status = c.res.status;
    // any token is a method to HTTP: an unknown one must not make a metric series of its own
    const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : "OTHER";
    count(method, route, status, t0);
    if (status >= 500) {
      deps.log.warn("request failed", { method: c.req.method, path: c.req.path, status });
    }
  });

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
      const withSymbol = r.path.includes(":symbol");
      registry.add({
        method: r.method.toLowerCase() as RouteSpec["method"],
        path: r.path,
        summary: mount.describe(r.method, openApiPath(r.path)),
        tags: ["websocket"],
        auth: "none",
        // declared so the path template's parameter is defined, as OpenAPI requires (and with it
        // the 404 of a symbol that is not listed)
        ...(withSymbol ? { params: SymbolParams } : {}),
        responses: {
          101: { description: "Switching Protocols (WebSocket)" },
          400: {
            description: withSymbol
              ? "The symbol is not BASE-QUOTE (INVALID_SYMBOL), or the upgrade request is invalid (BAD_UPGRADE)"
              : "The upgrade request is invalid (BAD_UPGRADE)",
          },
          426: { description: "A plain HTTP request: connect with a WebSocket client (UPGRADE_REQUIRED)" },
          429: {
            description: "Too many requests (RATE_LIMITED) or open connections (TOO_MANY_CONNECTIONS) " +
              "from the client address",
          },
        },
      });
    }
  }

  app.notFound(notFoundHandler(app.routes));
  app.onError(errorHandler(deps.log));

  /**
   * The server's entry point. Whole responses of public market-data GETs (routes with
   * `cache: true`) are reused for the cache window, keyed by path and query, before Hono routes
   * anything: a hit costs one map lookup, the client's rate-limit count and one cloned Response.
   * The read models underneath are refreshed at most that often anyway. Everything else is Hono's.
   */
  function fetch(req: Request, info?: unknown): Response | Promise<Response> {
    if (!useCache || req.method !== "GET") return app.fetch(req, info);
    const t0 = performance.now();
    const url = req.url;
    const hit = cache.get(url.slice(url.indexOf("/", 8)), t0);
    if (!hit) return app.fetch(req, info);
    const id = requestIdOf(req.headers.get("x-request-id") ?? undefined);
    let res: Response;
    try {
      // a reused response still counts against the client's limit
      limiter?.check([{ scope: "ip", id: deps.clientIp(sourceOf(req, info)), limit: deps.limits.ip }]);
      res = hit.template.clone();
      res.headers.set("x-request-id", id);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      res = problemResponse(e.status, e.code, e.message, e.options);
      setFixedHeaders(res.headers, id, req.headers.get("origin"));
    }
    count("GET", hit.route, res.status, t0);
    return res;
  }
  return { app, registry, fetch };
}
