/**
 * The web app as a Hono app: static files, health and metrics, and the file-system routes with their
 * islands. `main.ts` serves it; tests call `app.request()`.
 * @module
 */
import { PALETTE_SCRIPT_HASH } from "./head_script.ts";
import { Hono } from "hono";
import { compress } from "hono/compress";
import { runHealthChecks } from "@lib/health";
import type { Logger } from "@lib/log";
import { PROMETHEUS_CONTENT_TYPE, type Registry } from "@lib/metrics";
import { buildIslands, DEFAULT_OUT_DIR, readManifest } from "./build.ts";
import type { AssetManifest } from "./framework/island.tsx";
import { loadIslands, loadRoutes, mountRoutes } from "./framework/router.ts";
import { CachedGatewayClient } from "./market_data_cache.ts";
import type { State } from "./state.ts";

const WEB_DIR = new URL(".", import.meta.url).pathname.replace(/\/$/, "");

export interface WebOptions {
  /** The gateway as this server reaches it, e.g. "http://127.0.0.1:8080". */
  gatewayUrl: string;
  /** The gateway as browsers reach it; when unset, the page's host name with the gateway's port. */
  publicGatewayUrl?: string;
  /** Built islands (manifest.json and bundles); built on start when missing. @default {DEFAULT_OUT_DIR} */
  assetsDir?: string;
  /** Fees shown in the order form when the market listing carries none. @default {0 and 0} */
  fees?: { makerBps: number; takerBps: number };
  log?: Logger;
  registry?: Registry;
}

const CONTENT_TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
};

/**
 * On every response (with {@linkcode contentSecurityPolicy}). No other site may frame a page
 * (clickjacking a logged-in page). `same-origin` referrers: the gateway and outside links never
 * learn which page the user was on.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

/**
 * The pages' Content-Security-Policy. Scripts run only from this server's files and the layout's
 * one inline script (by its hash): markup that slipped into a page could not run code, and the
 * session in localStorage stays out of its reach. Everything else comes from this server too, and
 * the only other place a page may talk to is the gateway (`gatewayUrl`, HTTP and WebSocket), so
 * such markup could not send anything elsewhere either: no fetch, image, form or socket to another
 * site. Inline styles stay allowed: the chart sets its sizes through them.
 */
export function contentSecurityPolicy(gatewayUrl: string): string {
  const gw = new URL(gatewayUrl);
  const socket = `${gw.protocol === "https:" ? "wss:" : "ws:"}//${gw.host}`;
  return [
    "default-src 'self'",
    `script-src 'self' ${PALETTE_SCRIPT_HASH}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self' ${gw.origin} ${socket}`,
    "form-action 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The browser's gateway URL for a request: the page's host name with the gateway's port. */
export function publicGatewayFor(requestUrl: string, port = "8080"): string {
  const u = new URL(requestUrl);
  return `${u.protocol}//${u.hostname}:${port}`;
}

async function serveFile(path: string, immutable: boolean): Promise<Response | undefined> {
  try {
    const body = await Deno.readFile(path);
    const ext = path.slice(path.lastIndexOf(".") + 1);
    return new Response(body, {
      headers: {
        "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
        "cache-control": immutable ? "public, max-age=31536000, immutable" : "public, max-age=60",
      },
    });
  } catch {
    return undefined;
  }
}

/** Builds the app: loads islands and routes, and the islands' manifest (building it when missing). */
export async function createApp(options: WebOptions): Promise<Hono> {
  const assetsDir = options.assetsDir ?? DEFAULT_OUT_DIR;
  let assets: AssetManifest;
  try {
    assets = await readManifest(assetsDir);
  } catch {
    options.log?.warn("islands are not built yet; building them now", { dir: assetsDir });
    assets = (await buildIslands({ outDir: assetsDir })).manifest;
  }
  await loadIslands(`${WEB_DIR}/islands`);
  const routes = await loadRoutes(`${WEB_DIR}/routes`);
  // Server-side rendering's public reads, shared by concurrent and back-to-back page views.
  const gateway = new CachedGatewayClient({ baseUrl: options.gatewayUrl, timeoutMs: 5000 });
  const gatewayPort = new URL(options.gatewayUrl).port || "8080";
  /** The gateway as the browser reaches it, for a page requested at `url`. */
  const publicGateway = (url: string) => options.publicGatewayUrl ?? publicGatewayFor(url, gatewayPort);
  const requests = options.registry?.counter("web_requests_total", "Pages and files served, by status");
  const latency = options.registry?.histogram("web_request_seconds", "Time to answer a request");

  const app = new Hono();
  app.use("*", async (c, next) => {
    const done = latency?.startTimer();
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
    c.header("content-security-policy", contentSecurityPolicy(publicGateway(c.req.url)));
    // Pages are rendered per request and show live prices: never stored, by the browser or on the way.
    if (c.res.headers.get("content-type")?.startsWith("text/html")) c.header("cache-control", "no-store");
    requests?.inc({ status: c.res.status });
    done?.();
  });
  app.use("*", compress());

  app.get("/healthz", async () => {
    const report = await runHealthChecks("web", {
      gateway: async () => {
        const res = await fetch(`${options.gatewayUrl}/healthz`, { signal: AbortSignal.timeout(1500) });
        await res.body?.cancel();
        if (!res.ok) throw new Error(`gateway /healthz answered ${res.status}`);
      },
    });
    return Response.json(report, { status: report.status === "ok" ? 200 : 503 });
  });
  app.get(
    "/metrics",
    () =>
      new Response(options.registry?.render() ?? "", {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      }),
  );

  app.get("/static/islands/:file", async (c) => {
    const file = c.req.param("file");
    if (!/^[\w.-]+\.(js|css)$/.test(file)) return c.notFound();
    return await serveFile(`${assetsDir}/${file}`, /-[A-Z0-9]{8}\.js$/.test(file)) ?? c.notFound();
  });
  app.get("/static/:file", async (c) => {
    const file = c.req.param("file");
    if (!/^[\w.-]+$/.test(file)) return c.notFound();
    return await serveFile(`${WEB_DIR}/static/${file}`, false) ?? c.notFound();
  });

  mountRoutes<State>(app, {
    routes,
    assets: () => assets,
    styles: ["/static/styles.css"],
    state: (c) => ({
      gateway,
      publicGatewayUrl: publicGateway(c.req.url),
      fees: options.fees ?? { makerBps: 0, takerBps: 0 },
    }),
    onError: (error, req) => options.log?.error("page failed", { url: req.url, error }),
  });
  return app;
}
