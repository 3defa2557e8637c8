/**
 * Every error the gateway sends is an RFC 9457 problem document (`application/problem+json`) with a
 * stable SCREAMING_SNAKE `code`, `field` when it is about one request field, and `errors` for
 * validation failures. Handlers throw {@linkcode ApiError}; one `onError` renders it.
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { RejectReason } from "@lib/contracts";
import { errorText, type Logger, LogThrottle } from "@lib/log";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** One failed check of a request field. */
export interface FieldError {
  field: string;
  message: string;
  code?: string;
}

export interface ProblemOptions {
  field?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members copied into the problem document. */
  extra?: Record<string, unknown>;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** An error that becomes a problem response. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly options: ProblemOptions = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The problem document of a status, code and detail. */
export function problemBody(
  status: number,
  code: string,
  detail: string,
  options: ProblemOptions = {},
): Record<string, unknown> {
  return {
    type: `https://kalency.dev/problems/${code.toLowerCase().replaceAll("_", "-")}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    code,
    ...(options.field ? { field: options.field } : {}),
    ...(options.errors ? { errors: options.errors } : {}),
    ...options.extra,
  };
}

/** The schemes a 401 offers: a Bearer access token, or an API key (X-API-Key, signed). */
const WWW_AUTHENTICATE = 'Bearer realm="kalency", ApiKey realm="kalency"';

/** A problem response. */
export function problemResponse(
  status: number,
  code: string,
  detail: string,
  options: ProblemOptions = {},
): Response {
  return new Response(JSON.stringify(problemBody(status, code, detail, options)), {
    status,
    headers: {
      "content-type": PROBLEM_CONTENT_TYPE,
      // RFC 9110: a 401 names the schemes that would be accepted
      ...(status === 401 ? { "www-authenticate": WWW_AUTHENTICATE } : {}),
      ...options.headers,
    },
  });
}

/** HTTP status of each engine rejection reason. */
export const REJECT_STATUS: Record<RejectReason, ContentfulStatusCode> = {
  UNKNOWN_SYMBOL: 404,
  UNKNOWN_ORDER: 404,
  UNKNOWN_ASSET: 404,
  MARKET_PAUSED: 422,
  INSUFFICIENT_BALANCE: 422,
  TOO_MANY_OPEN_ORDERS: 422,
  DUPLICATE_MARKET: 409,
  INVALID_ORDER: 400,
  PRICE_OFF_TICK: 400,
  QTY_OFF_STEP: 400,
  QTY_TOO_SMALL: 400,
  QTY_TOO_LARGE: 400,
  NOTIONAL_TOO_SMALL: 400,
  PRICE_OUT_OF_BAND: 400,
  POST_ONLY_WOULD_CROSS: 400,
  AMOUNT_TOO_LARGE: 400,
  INVALID_AMOUNT: 400,
};

/** The ApiError for an engine rejection. */
/** 404 UNKNOWN_SYMBOL for a symbol that is not among `markets`, listing the ones that are. */
export function unknownSymbol(symbol: string, markets: readonly { symbol: string }[]): ApiError {
  return new ApiError(
    404,
    "UNKNOWN_SYMBOL",
    `symbol ${symbol} is not listed; markets: ${markets.map((m) => m.symbol).join(", ") || "(none yet)"}`,
    { field: "symbol" },
  );
}

export function rejectionError(r: { reason: RejectReason; message: string; field?: string }): ApiError {
  return new ApiError(REJECT_STATUS[r.reason] ?? 400, r.reason, r.message, r.field ? { field: r.field } : {});
}

/** Builds the app's `onError`: ApiError and HTTPException become problems; anything else is a 500. */
/** node-redis' errors of a connection that is down or going down. */
const REDIS_DOWN = new Set([
  "ClientClosedError",
  "ClientOfflineError",
  "SocketClosedUnexpectedlyError",
  "ConnectionTimeoutError",
  "SocketTimeoutError",
  "ReconnectStrategyError",
]);
/** postgres.js' codes of a connection that failed, and PostgreSQL's (class 08, 57P0x, 53300). */
const POSTGRES_DOWN = /^(CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT|08...|57P0[1-3]|53300)$/;

/**
 * Which store an error says is unreachable ("Redis", "PostgreSQL"), or undefined for any other
 * error. A request that needs a store that is down gets a 503, not a 500: nothing is wrong with it.
 */
export function unreachableStore(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  // node-redis' error classes keep the name "Error": their class says which it is
  if (REDIS_DOWN.has(err.name) || REDIS_DOWN.has(err.constructor?.name)) return "Redis";
  // a server that answers but cannot serve yet: loading its data after a restart, busy with a
  // script, a replica that is read-only or without its primary
  if (/^(LOADING|BUSY|READONLY|MASTERDOWN|EXECABORT .*LOADING)\b/.test(err.message)) return "Redis";
  const code = String((err as { code?: unknown }).code ?? "");
  if (POSTGRES_DOWN.test(code)) return "PostgreSQL";
  if (code === "ECONNREFUSED" || code === "ECONNRESET") return "a store (Redis or PostgreSQL)";
  return undefined;
}

export function errorHandler(log: Logger): (err: Error, c: Context) => Response {
  // a store that is down fails every request: say so every few seconds, with the count in between
  const storeDown = new LogThrottle(5000);
  return function onError(err, c) {
    if (err instanceof ApiError) {
      return problemResponse(err.status, err.code, err.message, err.options);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 413 ? "PAYLOAD_TOO_LARGE" : status === 401 ? "UNAUTHORIZED" : "HTTP_ERROR";
      return problemResponse(status, code, err.message || TITLES[status] || "Error");
    }
    const down = unreachableStore(err);
    if (down) {
      const suppressed = storeDown.allow(down);
      if (suppressed !== undefined) {
        log.warn("a store is unreachable", {
          method: c.req.method,
          path: c.req.path,
          store: down,
          error: errorText(err),
          ...(suppressed ? { alsoFailedSinceLastLine: suppressed } : {}),
        });
      }
      return problemResponse(
        503,
        "SERVICE_UNAVAILABLE",
        `The gateway cannot reach ${down} right now (${errorText(err)}); try again shortly`,
      );
    }
    log.error("unhandled error", { method: c.req.method, path: c.req.path, error: err });
    return problemResponse(500, "INTERNAL", "The gateway failed to handle this request; it was logged");
  };
}

/**
 * The app's `notFound`: 405 with `Allow` when the path exists with other methods (RFC 9110), else a
 * 404 problem naming the method and path. `routes` are the app's registered routes.
 */
export function notFoundHandler(
  routes: readonly { method: string; path: string }[],
): (c: Context) => Response {
  // each path pattern once, with the methods it answers (":id" matches one segment)
  const byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const r of routes) {
    if (r.method === "ALL" || r.path.includes("*")) continue;
    let entry = byPath.get(r.path);
    if (!entry) {
      const source = r.path.split("/").map((part) =>
        part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      ).join("/");
      byPath.set(r.path, entry = { pattern: new RegExp(`^${source}/?$`), methods: new Set() });
    }
    entry.methods.add(r.method);
  }
  return (c) => {
    const allowed = new Set<string>();
    for (const { pattern, methods } of byPath.values()) {
      if (pattern.test(c.req.path)) { for (const m of methods) allowed.add(m); }
    }
    if (allowed.size > 0 && !allowed.has(c.req.method)) {
      if (allowed.has("GET")) allowed.add("HEAD");
      allowed.add("OPTIONS");
      const allow = [...allowed].sort().join(", ");
      return problemResponse(
        405,
        "METHOD_NOT_ALLOWED",
        `${c.req.method} is not allowed on ${c.req.path}; it answers ${allow}`,
        { headers: { allow } },
      );
    }
    return problemResponse(
      404,
      "ROUTE_NOT_FOUND",
      `No route for ${c.req.method} ${c.req.path}; see /v1/openapi.json for the routes`,
    );
  };
}
