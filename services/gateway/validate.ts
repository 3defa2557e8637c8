/**
 * Request parsing through zod schemas: the same schemas the OpenAPI document is generated from.
 * A failure throws a 400 problem listing every bad field with the allowed values.
 * @module
 */
import type { Context } from "hono";
import type { z } from "zod";
import { ApiError, type FieldError } from "./errors.ts";

/** zod's wording, made to say what is allowed where zod's own sentence does not. */
function message(i: z.core.$ZodIssue): string {
  if (i.code === "invalid_type" && /received undefined/.test(i.message)) return `is required (${i.expected})`;
  // the only unions in request schemas are decimals: a string or a JSON number
  if (i.code === "invalid_union") return `must be a decimal, as a string like "12.5" or a JSON number`;
  if (i.code === "unrecognized_keys") return `${i.message} (${i.keys.join(", ")})`;
  return i.message;
}

function fieldErrors(error: z.ZodError, where: string): FieldError[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.map(String).join(".") : where,
    message: message(i),
    code: i.code.toUpperCase(),
  }));
}

/** Parses a value with a schema or throws a 400 `VALIDATION_FAILED` problem. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = fieldErrors(r.error, where);
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  throw new ApiError(400, "VALIDATION_FAILED", `${first.field}: ${first.message}${more}`, {
    field: first.field,
    errors,
  });
}

/** Reads and parses the JSON body. An empty body counts as `{}`; malformed JSON is a 400. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() !== "") {
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ApiError(400, "MALFORMED_JSON", `Request body is not valid JSON: ${(e as Error).message}`);
    }
  }
  return parseWith(schema, json, "body");
}

/** Parses the query string (each parameter's last value). */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.query(), "query");
}

/** Parses the path parameters. */
export function parseParams<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.param(), "path");
}
