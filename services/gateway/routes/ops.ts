import { z } from "zod";
import { PROMETHEUS_CONTENT_TYPE } from "@lib/metrics";
import { type GatewayDeps, type RouteFn, SECURE_HEADERS } from "../app.ts";
import { docsHtml, openApiDocument, type RouteRegistry } from "../openapi.ts";

const HealthResponse = z.object({
  status: z.enum(["ok", "unavailable"]),
  service: z.string(),
  checks: z.record(
    z.string(),
    z.object({ ok: z.boolean(), detail: z.unknown().optional(), error: z.string().optional() }),
  ),
});

const ApiIndex = z.object({
  name: z.string(),
  version: z.string(),
  docs: z.string(),
  openapi: z.string(),
  markets: z.string(),
  websocket: z.string(),
  health: z.string(),
});

/** /healthz, /metrics, the API's index, the OpenAPI document and the docs page. */
export function opsRoutes(route: RouteFn, deps: GatewayDeps, registry: RouteRegistry): void {
  let doc: Record<string, unknown> | undefined;
  let html: string | undefined;
  const spec = () =>
    doc ??= openApiDocument(registry, {
      title: "Kalency",
      version: deps.options.version,
      description: "REST API of the Kalency exchange simulator gateway. Decimals are strings; errors are " +
        "application/problem+json with a stable code. Market data is public; trading needs a Bearer " +
        "access token or a signed API-key request.",
    });

  route({
    method: "get",
    path: "/healthz",
    summary: "Readiness: Redis, PostgreSQL, the engine reply reader and the engine's progress",
    tags: ["ops"],
    auth: "none",
    rateLimit: "none",
    responses: { 200: { description: "Healthy", schema: HealthResponse } },
  }, async (c) => {
    const report = await deps.health();
    return c.json(report, report.status === "ok" ? 200 : 503);
  });

  route({
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics (per-route request rate and latency, engine replies, rate limits)",
    tags: ["ops"],
    auth: "none",
    rateLimit: "none",
    responses: {
      200: { description: "Prometheus text format", schema: z.string(), contentType: "text/plain" },
    },
  }, (c) => c.body(deps.metrics.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }));

  const index = {
    name: "Kalency API",
    version: deps.options.version,
    docs: "/docs",
    openapi: "/v1/openapi.json",
    markets: "/v1/markets",
    websocket: "/v1/ws",
    health: "/healthz",
  };
  route({
    method: "get",
    path: "/v1",
    summary: "Where to start: links to the docs, the OpenAPI document, the markets and the WebSocket",
    tags: ["ops"],
    auth: "none",
    responses: { 200: { description: "Links", schema: ApiIndex } },
  }, (c) => c.json(index));

  route({
    method: "get",
    path: "/v1/openapi.json",
    summary: "This API as an OpenAPI 3.1 document",
    tags: ["ops"],
    auth: "none",
    responses: { 200: { description: "OpenAPI 3.1", schema: z.record(z.string(), z.unknown()) } },
  }, (c) => c.json(spec()));

  route({
    method: "get",
    path: "/docs",
    summary: "Readable API documentation (HTML)",
    tags: ["ops"],
    auth: "none",
    responses: { 200: { description: "HTML page", schema: z.string(), contentType: "text/html" } },
  }, (c) => {
    // a page, unlike the API's responses: every document security header
    if (deps.options.secureHeaders) { for (const [name, value] of SECURE_HEADERS) c.header(name, value); }
    return c.html(html ??= docsHtml(spec()));
  });
}
