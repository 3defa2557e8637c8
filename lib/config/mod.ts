/**
 * Configuration: every setting comes from the environment, parsed by a zod schema with defaults.
 * Only entry points (a service's `main.ts`, the replay tool) load configuration; everything below
 * them receives plain values.
 * @module
 */
import { z } from "zod";

/** Thrown when the environment does not satisfy a config schema. Names every bad variable. */
export class ConfigError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Parses `env` with `schema`; throws one readable error naming each bad variable. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): z.output<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const name = i.path.join(".") || "(environment)";
      const value = env[String(i.path[0])];
      return `  ${name}=${value === undefined ? "(unset)" : shown(name, value)}: ${i.message}`;
    });
    throw new ConfigError(`Cannot load configuration:\n${lines.join("\n")}`);
  }
  return result.data;
}

/**
 * A value as an error message may show it: a secret only by its length, a URL without its
 * password (these messages end up in logs).
 */
export function shown(name: string, value: string): string {
  if (/SECRET|PASSWORD|TOKEN/i.test(name)) return `(hidden, ${value.length} characters)`;
  return JSON.stringify(maskUrlPassword(value));
}

/**
 * A URL with its password shown as `***` (for logs and messages); other text unchanged. Everything
 * between "//user:" and the last "@" is the password, "/" and spaces included.
 */
export function maskUrlPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/\s]*):.*@/i, "$1:***@");
}

/** True when `text` is a URL the WHATWG parser takes (a port above 65535, a stray space: not). */
function parsesAsUrl(text: string): boolean {
  try {
    new URL(text.replace(/@([^/,]*),[^/]*/, "@$1")); // several hosts (postgres.js takes them): the first
    return true;
  } catch {
    return false;
  }
}
const URL_PROBLEM =
  "is not a valid URL (check the host, the port (at most 65535) and characters to %-encode)";

/** A TCP port number from an env string. */
export const Port = z.coerce.number().int().min(0).max(65535);

/** "true"/"false"/"1"/"0"/"yes"/"no" from an env string. */
export const EnvBool = z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) =>
  v === "true" || v === "1" || v === "yes"
);

/** Where a process finds Redis and PostgreSQL, and its key prefix, when nothing else is set. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kalency";
export const DEFAULT_PREFIX = "kalency:v1";
/** What a key prefix may hold. */
export const PREFIX_PATTERN = /^[A-Za-z0-9:_{}-]+$/;

/** Settings every process shares. */
export const BaseConfig = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// URL").refine(parsesAsUrl, URL_PROBLEM)
    .default(DEFAULT_REDIS_URL),
  KALENCY_PREFIX: z.string().min(1).regex(PREFIX_PATTERN, "letters, digits, ':', '_', '-', '{', '}' only")
    .default(DEFAULT_PREFIX),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Log lines as coloured text or JSON; unset: text on a terminal, JSON otherwise (read by @lib/log). */
  LOG_FORMAT: z.enum(["pretty", "json"]).optional(),
  /** Bind address for every HTTP listener. */
  KALENCY_HOST: z.string().default("127.0.0.1"),
});
export type BaseConfig = z.output<typeof BaseConfig>;

/** The shared settings plus PostgreSQL, for the processes that use it. */
export const BaseDbConfig = BaseConfig.extend({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .refine(parsesAsUrl, URL_PROBLEM)
    .default(DEFAULT_DATABASE_URL),
});
export type BaseDbConfig = z.output<typeof BaseDbConfig>;

/**
 * Default ports of every process, each overridable by its env variable. Other services serve only
 * `/healthz` and `/metrics` on theirs.
 */
export const DEFAULT_PORTS = {
  KALENCY_WEB_PORT: 8000,
  KALENCY_GATEWAY_PORT: 8080,
  KALENCY_ENGINE_PORT: 9101,
  KALENCY_SIM_PORT: 9102,
  KALENCY_CANDLES_PORT: 9103,
  KALENCY_LEDGER_PORT: 9104,
} as const;
