import { z } from "zod";
import { BaseDbConfig, DEFAULT_PORTS, EnvBool, Port } from "@lib/config";
import { DEFAULT_MAX_PER_ADDRESS } from "./ws/mod.ts";

const Int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The gateway's environment. Every variable is listed in services/gateway/README.md. */
export const GatewayConfig = BaseDbConfig.extend({
  KALENCY_ENV: z.enum(["dev", "test", "production"]).default("dev"),
  KALENCY_GATEWAY_PORT: Port.default(DEFAULT_PORTS.KALENCY_GATEWAY_PORT),
  /** Let several gateway processes listen on the same port (SO_REUSEPORT, Linux): one per core. */
  KALENCY_REUSE_PORT: EnvBool.default(false),
  /** Unique per process: names its reply stream. Default: "gw-" and random hex. */
  KALENCY_GATEWAY_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, "letters, digits, '_', '.', '-' (max 40)")
    .optional(),
  /** HS256 key for access tokens; required in production. */
  KALENCY_JWT_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  /** Server key API secrets are derived from; required in production. */
  KALENCY_API_KEY_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  KALENCY_ACCESS_TOKEN_TTL_SEC: Int(30, 86_400).default(900),
  KALENCY_REFRESH_TOKEN_TTL_SEC: Int(60, 90 * 86_400).default(30 * 86_400),
  KALENCY_ENGINE_TIMEOUT_MS: Int(100, 120_000).default(5000),
  KALENCY_BODY_LIMIT_BYTES: Int(1024, 10_000_000).default(64 * 1024),
  KALENCY_RATE_LIMIT: EnvBool.default(true),
  KALENCY_RATE_LIMIT_WINDOW_MS: Int(100, 3_600_000).default(10_000),
  /** Requests per window per IP address, all routes. */
  KALENCY_RATE_LIMIT_IP: Int(1, 10_000_000).default(3000),
  /** Requests per window per authenticated user. */
  KALENCY_RATE_LIMIT_USER: Int(1, 10_000_000).default(2000),
  /** Login, signup, token and refresh attempts per window per IP address. */
  KALENCY_RATE_LIMIT_AUTH: Int(1, 10_000_000).default(30),
  /** Trust X-Forwarded-For for the client address (behind a proxy only). */
  KALENCY_TRUST_PROXY: EnvBool.default(false),
  /** Comma-separated allowed origins, or "*". */
  KALENCY_CORS_ORIGINS: z.string().default("*"),
  KALENCY_SECURE_HEADERS: EnvBool.default(true),
  /** Serve the WebSocket feed from this process (false: a REST-only gateway). */
  KALENCY_WS: EnvBool.default(true),
  /** Open WebSocket connections one client address may hold; 0 for no cap. */
  KALENCY_WS_MAX_PER_ADDRESS: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_MAX_PER_ADDRESS),
  /** How long public market reads are served from memory. */
  KALENCY_READ_CACHE_MS: Int(0, 10_000).default(20),
  /** How long an API key's lookup is cached (revocation takes effect within this on other processes). */
  KALENCY_API_KEY_CACHE_MS: Int(0, 600_000).default(5000),
  KALENCY_RECV_WINDOW_MS: Int(100, 60_000).default(5000),
  /** The original's plain X-API-Key: accepted only when true, and only for keys listed in API_KEYS. */
  KALENCY_LEGACY_API_KEYS: EnvBool.default(false),
  API_KEYS: z.string().default(""),
  KALENCY_ADMIN_USERNAME: z.string().optional(),
  KALENCY_ADMIN_PASSWORD: z.string().optional(),
  /** A checkpoint older than this while commands wait marks the engine unhealthy. */
  KALENCY_ENGINE_STALL_MS: Int(1000, 600_000).default(15_000),
}).superRefine((c, ctx) => {
  if (c.KALENCY_ENV === "production") {
    for (const name of ["KALENCY_JWT_SECRET", "KALENCY_API_KEY_SECRET"] as const) {
      if (!c[name]) ctx.addIssue({ code: "custom", path: [name], message: "is required in production" });
    }
  }
  if ((c.KALENCY_ADMIN_USERNAME === undefined) !== (c.KALENCY_ADMIN_PASSWORD === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["KALENCY_ADMIN_PASSWORD"],
      message: "set KALENCY_ADMIN_USERNAME and KALENCY_ADMIN_PASSWORD together",
    });
  }
});
export type GatewayConfig = z.output<typeof GatewayConfig>;

/** Parses API_KEYS ("key:user,key2:user2") into key -> userId. */
export function parseLegacyKeys(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of text.split(",")) {
    const [key, user] = pair.split(":").map((s) => s.trim());
    if (key && user) out.set(key, user);
  }
  return out;
}
