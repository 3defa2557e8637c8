/**
 * Request parsing through zod schemas: the same schemas the OpenAPI document is generated from.
 * A failure throws a 400 problem listing every bad field with the allowed values.
 * @module
 */
import type { Context } from "hono";
import type { z } from "zod";
import { parseJsonKeepingNumberText } from "@lib/contracts";
import { ApiError, type FieldError } from "./errors.ts";

/** zod's wording, made to say what is allowed where zod's own sentence does not. */
function message(i: z.core.$ZodIssue): string {
  if (i.code === "invalid_type" && /received undefined/.test(i.message)) return `is required (${i.expected})`;
  // a missing enum field (parsed with reportInput): say it is missing, then what it takes
  if (i.code === "invalid_value" && "input" in i && i.input === undefined) {
    return `is required: one of ${i.values.map(String).join(", ")}`;
  }
  // the only unions in request schemas are decimals: a string or a JSON number
  if (i.code === "invalid_union") return `must be a decimal, as a string like "12.5" or a JSON number`;
  if (i.code === "unrecognized_keys") {
    // a schema's own message says what is allowed; zod's says only "Unrecognized key(s)"
    return i.message.startsWith("Unrecognized key") ? `${i.message} (${i.keys.join(", ")})` : i.message;
  }
  // zod says "Too small: expected string to have >=1 characters"; say it as a person would
  if (i.code === "too_small" || i.code === "too_big") {
    const limit = Number(i.code === "too_small" ? i.minimum : i.maximum);
    const bound = i.code === "too_small" ? "at least" : "at most";
    if (i.origin === "string") {
      return i.code === "too_small" && limit === 1
        ? "must not be empty"
        : `must be ${bound} ${limit} characters`;
    }
    if (i.origin === "array") return `must hold ${bound} ${limit} items`;
    if (i.origin === "number" && i.inclusive !== false) return `must be ${bound} ${limit}`;
  }
  return i.message;
}

function fieldErrors(error: z.ZodError, where: string): FieldError[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.map(String).join(".") : where,
    message: message(i),
    code: i.code.toUpperCase(),
  }));
}

/**
 * The path of the first string in `value` that holds a NUL character, or undefined. PostgreSQL
 * refuses NUL in text, and no field of this API has a use for it.
 */
function nulPath(value: unknown, path: string[] = []): string[] | undefined {
  if (typeof value === "string") return value.includes("\0") ? path : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = nulPath(v, [...path, k]);
    if (found) return found;
  }
  return undefined;
}

function refuseNul(value: unknown, where: string): void {
  const path = nulPath(value);
  if (!path) return;
  const field = path.length ? path.join(".") : where;
  const message = "must not contain the NUL character (\\u0000)";
  throw new ApiError(400, "VALIDATION_FAILED", `${field}: ${message}`, {
    field,
    errors: [{ field, message, code: "INVALID_STRING" }],
  });
}

/** Parses a value with a schema or throws a 400 `VALIDATION_FAILED` problem. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const errors = fieldErrors(r.error, where);
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  throw new ApiError(400, "VALIDATION_FAILED", `${first.field}: ${first.message}${more}`, {
    field: first.field,
    errors,
  });
}

/**
 * A field sent as `null` counts as absent (clients written for the original send `"price": null` for
 * an unset field, and its decoder left such a field unset): a required one is then reported missing.
 */
function dropNullFields(json: unknown): void {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return;
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (o[k] === null) delete o[k];
}

/** Reads and parses the JSON body. An empty body counts as `{}`; malformed JSON is a 400. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() !== "") {
    try {
      // decimals sent as JSON numbers are read from their text (see JsonNumberText)
      json = parseJsonKeepingNumberText(text);
    } catch (e) {
      // the content type is not checked (the original did not either), but it explains many failures
      const type = c.req.header("content-type");
      const sentAs = type && !/json/i.test(type) ? ` (it was sent as ${type.split(";")[0]})` : "";
      throw new ApiError(
        400,
        "MALFORMED_JSON",
        `Request body is not valid JSON${sentAs}: ${(e as Error).message}; send a JSON object, ` +
          "with Content-Type: application/json",
      );
    }
    // JSON writes NUL as \u0000: only then is the parsed body worth walking
    if (text.includes("\\u0000")) refuseNul(json, "body");
    if (text.includes("null")) dropNullFields(json);
  }
  return parseWith(schema, json, "body");
}

/** Parses the query string (each parameter's last value). */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const query = c.req.query();
  refuseNul(query, "query");
  return parseWith(schema, query, "query");
}

/** Parses the path parameters. */
export function parseParams<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const params = c.req.param();
  refuseNul(params, "path");
  return parseWith(schema, params, "path");
}
