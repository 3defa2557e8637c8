/**
 * A small route registry: every REST route declares its method, path, summary, auth and the zod
 * schemas of its request and response. The router validates with those schemas and this module turns
 * the same schemas into an OpenAPI 3.1 document and a self-contained HTML docs page.
 * @module
 */
import { z } from "zod";
import { SIGNING_GUIDE } from "./signing_guide.ts";

export type AuthLevel = "none" | "user" | "admin";
export type Method = "get" | "post" | "put" | "patch" | "delete";

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Content type when not JSON (e.g. text/html). */
  contentType?: string;
}

export interface RouteSpec<
  B extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodType | undefined = z.ZodType | undefined,
  P extends z.ZodType | undefined = z.ZodType | undefined,
> {
  method: Method;
  /** Hono path ("/v1/orders/:orderId"). */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: AuthLevel;
  body?: B;
  query?: Q;
  params?: P;
  /** Success responses by status. Problem responses are added for every route. */
  responses: Record<number, ResponseSpec>;
  /**
   * "auth": an extra rate-limit bucket (login-type routes); "none": not counted at all (health and
   * metrics, which monitors and load balancers poll from one address).
   */
  rateLimit?: "auth" | "none";
  /** Public data whose whole response may be reused for a few milliseconds. */
  cache?: boolean;
  /** The route waits for the matching engine's reply, so it can answer 504 ENGINE_TIMEOUT. */
  engine?: boolean;
}

/** Every documented route of the app. */
export class RouteRegistry {
  readonly routes: RouteSpec[] = [];
  add(spec: RouteSpec): void {
    this.routes.push(spec);
  }
}

/** Hono path -> OpenAPI path ("/v1/orders/:orderId" -> "/v1/orders/{orderId}"). */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as Record<
    string,
    unknown
  >;
  delete s.$schema;
  const open = withoutOpenBranches(s) as Record<string, unknown>;
  return io === "output" ? withoutClosedObjects(open) as Record<string, unknown> : open;
}

/**
 * Drops `additionalProperties: false` from a response schema: later versions add fields (see
 * docs/compatibility.md), and a client that validates answers strictly must not break on one.
 * Request schemas are left as zod gives them.
 */
function withoutClosedObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutClosedObjects);
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "additionalProperties" && v === false) continue;
    out[k] = withoutClosedObjects(v);
  }
  return out;
}

/**
 * Drops the `{}` branches of every anyOf: JSON Schema has no form for a class instance (the parsed
 * JSON number text a Decimal also takes), and `{}` would say that anything goes.
 */
function withoutOpenBranches(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutOpenBranches);
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = withoutOpenBranches(v);
  if (Array.isArray(out.anyOf)) {
    const kept = out.anyOf.filter((b) => typeof b !== "object" || b === null || Object.keys(b).length > 0);
    if (kept.length === 1) {
      delete out.anyOf;
      Object.assign(out, kept[0]);
    } else out.anyOf = kept;
  }
  return out;
}

const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string().describe("Stable machine-readable code, SCREAMING_SNAKE"),
  field: z.string().optional().describe("The request field the problem is about"),
  errors: z.array(z.object({ field: z.string(), message: z.string(), code: z.string().optional() }))
    .optional(),
});

function parameters(spec: RouteSpec): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [where, schema] of [["path", spec.params], ["query", spec.query]] as const) {
    if (!schema) continue;
    const js = jsonSchema(schema, "input");
    const props = (js.properties ?? {}) as Record<string, Record<string, unknown>>;
    const required = new Set((js.required ?? []) as string[]);
    for (const [name, s] of Object.entries(props)) {
      out.push({
        name,
        in: where,
        required: where === "path" || required.has(name),
        ...(s.description ? { description: s.description } : {}),
        schema: s,
      });
    }
  }
  return out;
}

/** The field names of an object schema (none for anything else). */
function names(schema: unknown): Set<string> {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return new Set(shape ? Object.keys(shape) : []);
}

/** The problem statuses every route of its kind can answer, with what they mean. */
function commonProblems(spec: RouteSpec): [string, string][] {
  const out: [string, string][] = [];
  if (spec.body || spec.query || spec.params) {
    out.push(["400", "The request is invalid (VALIDATION_FAILED, MALFORMED_JSON, ...), naming the field"]);
  }
  if (spec.auth !== "none") {
    out.push(["401", "Missing, expired or invalid credentials (MISSING_AUTHENTICATION, TOKEN_EXPIRED, ...)"]);
  }
  if (spec.auth === "admin") out.push(["403", "The user is not an admin (ADMIN_REQUIRED)"]);
  if (spec.params || names(spec.query).has("symbol") || names(spec.body).has("symbol")) {
    out.push([
      "404",
      "What the request names does not exist (UNKNOWN_SYMBOL, UNKNOWN_ORDER, UNKNOWN_USER, ...)",
    ]);
  }
  if (spec.body) out.push(["413", "The body is larger than the limit (PAYLOAD_TOO_LARGE)"]);
  if (spec.rateLimit !== "none") {
    out.push(["429", "Too many requests (RATE_LIMITED); Retry-After says when to try again"]);
  }
  out.push(["503", "A store the request needs is unreachable (SERVICE_UNAVAILABLE); try again shortly"]);
  if (spec.engine) {
    out.push([
      "504",
      "No answer from the matching engine in time (ENGINE_TIMEOUT); the command may still be applied",
    ]);
  }
  return out;
}

/** The OpenAPI 3.1 document of a registry. */
export function openApiDocument(
  registry: RouteRegistry,
  info: { title: string; version: string; description?: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of registry.routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema
          ? { content: { [r.contentType ?? "application/json"]: { schema: jsonSchema(r.schema, "output") } } }
          : {}),
      };
    }
    const problem = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } };
    // an error status a route lists without a body answers a problem like every other error
    for (const [status, r] of Object.entries(responses)) {
      const listed = r as { content?: unknown };
      if (Number(status) >= 400 && !listed.content) listed.content = problem;
    }
    for (const [status, description] of commonProblems(spec)) {
      responses[status] ??= { description, content: problem };
    }
    responses.default = { description: "Problem (RFC 9457)", content: problem };
    const op: Record<string, unknown> = {
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: spec.tags,
      operationId: `${spec.method}${
        openApiPath(spec.path).replace(/[{}]/g, "").split("/").map((p) =>
          p.replace(/(^|[-_.])(\w)/g, (_, __, ch: string) => ch.toUpperCase())
        ).join("")
      }`,
      parameters: parameters(spec),
      responses,
      "x-auth": spec.auth,
      ...(spec.auth === "none" ? { security: [] } : {}),
    };
    if (spec.body) {
      op.requestBody = {
        required: true,
        content: { "application/json": { schema: jsonSchema(spec.body, "input") } },
      };
    }
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = op;
  }
  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: "/" }],
    paths,
    components: {
      schemas: { Problem: jsonSchema(Problem, "output") },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "Authorization: Bearer <accessToken>, from POST /v1/auth/signup or /v1/auth/login. " +
            "An access token lasts expiresIn seconds (15 minutes by default; then 401 TOKEN_EXPIRED); " +
            "POST /v1/auth/refresh with the " +
            "refreshToken gives a new pair.",
        },
        apiKey: {
          type: "apiKey",
          in: "header",
          name: "X-API-Key",
          description: SIGNING_GUIDE,
        },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
  };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The security schemes with their descriptions (the API-key one says how to sign). */
function authSection(doc: Record<string, unknown>): string {
  const schemes = (doc.components as { securitySchemes?: Record<string, Record<string, string>> })
    .securitySchemes ?? {};
  const items = Object.entries(schemes).map(([name, s]) =>
    `<h3><code>${esc(name)}</code>: ${
      esc(s.type === "http" ? `${s.scheme} ${s.bearerFormat ?? ""}` : `${s.name} header`)
    }</h3>${s.description ? `<pre class="guide">${esc(s.description)}</pre>` : ""}`
  ).join("");
  return `<section id="auth"><h2>Authentication</h2>${items}</section>`;
}

/** A self-contained HTML page listing every operation of an OpenAPI document with its schemas. */
export function docsHtml(doc: Record<string, unknown>): string {
  const info = doc.info as { title: string; version: string; description?: string };
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  const sections: string[] = [];
  const toc: string[] = [];
  let n = 0;
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const id = `op${n++}`;
      const auth = String(op["x-auth"]);
      toc.push(
        `<li><a href="#${id}"><span class="m ${method}">${method.toUpperCase()}</span> ${esc(path)}</a></li>`,
      );
      const params = (op.parameters as Record<string, unknown>[]).map((p) =>
        `<tr><td><code>${esc(String(p.name))}</code></td><td>${p.in}</td><td>${
          p.required ? "yes" : ""
        }</td><td><code>${esc(JSON.stringify(p.schema))}</code></td></tr>`
      ).join("");
      const body = op.requestBody
        ? `<h4>Request body</h4><pre>${
          esc(JSON.stringify(
            (op.requestBody as { content: Record<string, { schema: unknown }> }).content["application/json"]
              .schema,
            null,
            2,
          ))
        }</pre>`
        : "";
      const responses = Object.entries(op.responses as Record<string, Record<string, unknown>>)
        .filter(([s]) => s !== "default")
        .map(([status, r]) => {
          const content = r.content as Record<string, { schema: unknown }> | undefined;
          const schema = content ? Object.values(content)[0].schema : undefined;
          return `<h4>${status} ${esc(String(r.description))}</h4>${
            schema ? `<pre>${esc(JSON.stringify(schema, null, 2))}</pre>` : ""
          }`;
        }).join("");
      sections.push(
        `<section id="${id}"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${
          esc(path)
        }</code> <span class="auth">${
          auth === "none" ? "public" : auth === "admin" ? "admin" : "auth"
        }</span></h3>
<p>${esc(String(op.summary))}</p>${op.description ? `<p>${esc(String(op.description))}</p>` : ""}
${
          params
            ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>${params}</table>`
            : ""
        }
${body}${responses}<p class="err">Errors: <code>application/problem+json</code> with <code>code</code>.</p></section>`,
      );
    }
  }
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;display:flex;color:#1b1f24}
nav{width:340px;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f5f7;padding:12px;box-sizing:border-box}
nav ul{list-style:none;padding:0;margin:0}nav li{margin:2px 0;font-size:13px}nav a{color:inherit;text-decoration:none}
main{flex:1;padding:16px 28px;max-width:980px}section{border-top:1px solid #ddd;padding:8px 0}
.m{display:inline-block;min-width:52px;font:bold 12px monospace;padding:2px 4px;border-radius:3px;color:#fff;text-align:center}
.get{background:#2f7d32}.post{background:#1565c0}.delete{background:#c62828}.put,.patch{background:#8e24aa}
.auth{font-size:12px;color:#555;border:1px solid #bbb;border-radius:3px;padding:1px 5px}
pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px;max-height:360px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
.err{color:#666;font-size:13px}.guide{max-height:none;white-space:pre-wrap}
</style></head><body><nav><strong>${esc(info.title)} ${esc(info.version)}</strong>
<p><a href="/v1/openapi.json">openapi.json</a> · <a href="#auth">Authentication</a></p><ul>${
    toc.join("")
  }</ul></nav>
<main><h1>${esc(info.title)} API</h1><p>${esc(info.description ?? "")}</p>${authSection(doc)}${
    sections.join("\n")
  }</main></body></html>`;
}
