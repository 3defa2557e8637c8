/**
 * Readiness checks and the small HTTP server every non-HTTP service runs for `/healthz` and `/metrics`.
 * @module
 */
import { PROMETHEUS_CONTENT_TYPE, type Registry } from "@lib/metrics";

/** A named dependency check; resolves when healthy, throws (or returns a string detail) when not. */
export type HealthCheck = () => Promise<unknown>;

export interface HealthReport {
  status: "ok" | "unavailable";
  service: string;
  checks: Record<string, { ok: boolean; detail?: unknown; error?: string }>;
}

/** Runs every check with a timeout; the report is ok only if all are ok. */
export async function runHealthChecks(
  service: string,
  checks: Record<string, HealthCheck>,
  timeoutMs = 2000,
): Promise<HealthReport> {
  const out: HealthReport["checks"] = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const detail = await Promise.race([
          check(),
          new Promise((_, rej) =>
            timer = setTimeout(() => rej(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
          ),
        ]);
        out[name] = detail === undefined ? { ok: true } : { ok: true, detail };
      } catch (e) {
        out[name] = { ok: false, error: e instanceof Error ? e.message : String(e) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const ok = Object.values(out).every((c) => c.ok);
  return { status: ok ? "ok" : "unavailable", service, checks: out };
}

/** Builds a `fetch` handler for `/healthz` and `/metrics`. Extra routes may be added by `extra`. */
export function opsHandler(
  service: string,
  registry: Registry,
  checks: Record<string, HealthCheck>,
  extra?: (req: Request) => Promise<Response | undefined> | Response | undefined,
): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") {
      const report = await runHealthChecks(service, checks);
      return Response.json(report, { status: report.status === "ok" ? 200 : 503 });
    }
    if (url.pathname === "/metrics") {
      return new Response(registry.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
    }
    const r = await extra?.(req);
    if (r) return r;
    return Response.json({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      code: "NOT_FOUND",
      detail: `No route for ${req.method} ${url.pathname}; this service serves /healthz and /metrics`,
    }, { status: 404, headers: { "content-type": "application/problem+json" } });
  };
}

/** Starts the ops server; returns it so main.ts can shut it down. */
export function serveOps(
  options: { hostname: string; port: number; signal?: AbortSignal; portVar?: string },
  handler: (req: Request) => Promise<Response>,
): Deno.HttpServer {
  return listening(options.port, options.portVar, () =>
    Deno.serve({
      hostname: options.hostname,
      port: options.port,
      signal: options.signal,
      onListen: () => {},
    }, handler));
}

/**
 * Runs `listen` (a `Deno.serve`); a port already taken becomes an error that names it and the
 * variable that sets it, instead of a bare "Address already in use".
 */
export function listening<T>(port: number, portVar: string | undefined, listen: () => T): T {
  try {
    return listen();
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    const how = portVar ? `, or set ${portVar} to another port` : "";
    throw new Error(`port ${port} is already in use: stop what holds it (is Kalency already running?)${how}`);
  }
}

/**
 * The `/healthz` answer of a service that can run degraded: "unavailable" (503) when `down` names
 * anything, else "degraded" (200) when `degraded` does, else "ok". The body is
 * `{ status, service, reasons, ...details }`, reasons being `down` then `degraded`.
 */
export function healthResponse(
  service: string,
  down: string[],
  degraded: string[],
  details: Record<string, unknown>,
): Response {
  const status = down.length ? "unavailable" : degraded.length ? "degraded" : "ok";
  return Response.json({ status, service, reasons: [...down, ...degraded], ...details }, {
    status: status === "unavailable" ? 503 : 200,
  });
}

/** One reason per stream whose consumer lag is above `limit` ("<stream>: N entries behind"). */
export function lagReasons(lag: Record<string, { lag: number }>, limit: number): string[] {
  return Object.entries(lag).filter(([, l]) => l.lag > limit).map(([stream, l]) =>
    `${stream}: ${l.lag} entries behind`
  );
}
