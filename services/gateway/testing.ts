/**
 * Test helpers: spawn the real matching engine or a gateway process on free ports under a test
 * prefix, and build an in-process gateway app on a fresh Redis prefix and database.
 * @module
 */
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { RespBatchConnection, RespStreamReader } from "@lib/redis";
import { type Cleanup, dbFixture, freePort, redisFixture, TEST_REDIS_URL, waitFor } from "@lib/testing";
import { ensureUser } from "@lib/users";
import { buildGateway, type GatewaySettings } from "./gateway.ts";
import { createMarketFeed } from "./ws/mod.ts";

const ROOT = new URL("../../", import.meta.url);
export const ENGINE_MAIN = new URL("services/matching-engine/main.ts", ROOT);
export const GATEWAY_MAIN = new URL("services/gateway/main.ts", ROOT);

/** True when the matching engine's process exists in this checkout. */
export function engineAvailable(): boolean {
  try {
    Deno.statSync(ENGINE_MAIN);
    return true;
  } catch {
    return false;
  }
}

export interface Spawned extends AsyncDisposable {
  /** Process id (the deno process itself). */
  pid: number;
  port: number;
  url: string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/**
 * Spawns `deno run -A <main>` with env; waits until its /healthz answers (any status when `anyHealth`).
 * With `cleanup`, the process is registered there as soon as it is spawned.
 */
export async function spawnService(
  main: URL,
  env: Record<string, string>,
  options: {
    portVar: string;
    anyHealth?: boolean;
    timeoutMs?: number;
    log?: boolean;
    port?: number;
    denoArgs?: string[];
    cleanup?: Cleanup;
  } = { portVar: "" },
): Promise<Spawned> {
  const port = options.port ?? freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...(options.denoArgs ?? []), main.pathname],
    env: {
      REDIS_URL: TEST_REDIS_URL,
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
      ...env,
      [options.portVar]: String(port),
    },
    stdin: "null",
    stdout: options.log ? "inherit" : "null",
    stderr: options.log ? "inherit" : "null",
  }).spawn();
  options.cleanup?.child(main.pathname, child);
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    return (await status).code;
  };
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`${main.pathname} exited early`);
      const r = await fetch(`${url}/healthz`).catch(() => undefined);
      await r?.body?.cancel();
      return r && (options.anyHealth || r.ok);
    }, { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100, what: `${main.pathname} health` });
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    pid: child.pid,
    port,
    url,
    stop,
    async kill() {
      if (!exited) child.kill("SIGKILL");
      await status;
    },
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** The real matching engine on a test prefix. */
export function spawnEngine(
  prefix: string,
  env: Record<string, string> = {},
  options: { denoArgs?: string[]; cleanup?: Cleanup } = {},
): Promise<Spawned> {
  return spawnService(ENGINE_MAIN, { KALENCY_PREFIX: prefix, ...env }, {
    portVar: "KALENCY_ENGINE_PORT",
    denoArgs: options.denoArgs,
    cleanup: options.cleanup,
  });
}

/** A gateway process on a test prefix and database. */
export function spawnGateway(
  prefix: string,
  databaseUrl: string,
  env: Record<string, string> = {},
  options: { port?: number; denoArgs?: string[]; cleanup?: Cleanup } = {},
): Promise<Spawned> {
  return spawnService(GATEWAY_MAIN, {
    KALENCY_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    KALENCY_ENV: "test",
    KALENCY_JWT_SECRET: TEST_JWT_SECRET,
    KALENCY_API_KEY_SECRET: TEST_API_KEY_SECRET,
    ...env,
  }, {
    portVar: "KALENCY_GATEWAY_PORT",
    anyHealth: true,
    port: options.port,
    cleanup: options.cleanup,
    // SO_REUSEPORT is behind Deno's unstable net flag
    denoArgs: [...(env.KALENCY_REUSE_PORT === "true" ? ["--unstable-net"] : []), ...(options.denoArgs ?? [])],
  });
}

export const TEST_JWT_SECRET = "test-jwt-secret-0123456789abcdef";
export const TEST_API_KEY_SECRET = "test-api-key-secret-0123456789ab";

export const TEST_SETTINGS: Omit<GatewaySettings, "prefix" | "gatewayId"> = {
  jwtSecret: TEST_JWT_SECRET,
  apiKeySecret: TEST_API_KEY_SECRET,
  accessTtlSec: 900,
  refreshTtlSec: 3600,
  engineTimeoutMs: 5000,
  engineStallMs: 15_000,
  bodyLimitBytes: 64 * 1024,
  rateLimit: false,
  corsOrigins: "*",
  secureHeaders: true,
  readCacheMs: 0,
  apiKeyCacheMs: 5000,
  recvWindowMs: 5000,
  trustProxy: true,
};

export interface Session {
  userId: string;
  username: string;
  accessToken: string;
  refreshToken: string;
  /** Authorization header for this user. */
  headers: Record<string, string>;
}

export interface GatewayFixtureOptions {
  /** Spawn the real matching engine on the fixture's prefix. */
  engine?: boolean;
  /** Mount the WebSocket feed (ws/mod.ts) as main.ts does. */
  feed?: boolean;
  settings?: Partial<GatewaySettings>;
}

/**
 * An in-process gateway app on a fresh Redis prefix and database (optionally with the real engine),
 * plus helpers to sign up users and make JSON requests. Disposing closes everything.
 */
export async function gatewayFixture(options: GatewayFixtureOptions = {}) {
  const rf = await redisFixture("gw");
  const db = await dbFixture();
  const reader = new RespStreamReader(TEST_REDIS_URL);
  let engine: Spawned | undefined;
  const lines: string[] = [];
  const log = createLogger("gateway-test", { level: "warn", pretty: false, write: (l) => lines.push(l) });
  const metrics = new Registry();
  const gatewayId = `gwt-${crypto.randomUUID().slice(0, 8)}`;
  let gw: Awaited<ReturnType<typeof buildGateway>> | undefined;
  const feedStop = new AbortController();
  let feed: Awaited<ReturnType<typeof createMarketFeed>> | undefined;
  const cleanup = async () => {
    feedStop.abort();
    await feed?.close();
    await gw?.close();
    await engine?.stop();
    reader.close();
    await db[Symbol.asyncDispose]();
    await rf[Symbol.asyncDispose]();
  };
  try {
    if (options.engine) engine = await spawnEngine(rf.prefix);
    if (options.feed) {
      feed = await createMarketFeed({
        redisUrl: TEST_REDIS_URL,
        prefix: rf.prefix,
        log,
        metrics,
        authenticate: (token) => gw!.auth.token(token),
        signal: feedStop.signal,
      });
    }
    gw = await buildGateway(
      {
        ...TEST_SETTINGS,
        // without an engine nothing answers: fail fast instead of waiting the production timeout
        engineTimeoutMs: options.engine ? TEST_SETTINGS.engineTimeoutMs : 150,
        prefix: rf.prefix,
        gatewayId,
        ...options.settings,
      },
      {
        redis: rf.redis,
        reader,
        connectBatches: () => RespBatchConnection.connect(TEST_REDIS_URL),
        sql: db.sql,
        log,
        metrics,
        mounts: feed ? [{ routes: feed.routes, describe: (_m, path) => `WebSocket ${path}` }] : undefined,
      },
    );
  } catch (e) {
    await cleanup();
    throw e;
  }
  const g = gw;
  let n = 0;

  /** A JSON request; `body` objects are serialized. Returns the response and its parsed body. */
  async function call(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string>; ip?: string } = {},
  ): Promise<{ status: number; headers: Headers; json: any; text: string }> {
    const body = init.body === undefined
      ? undefined
      : typeof init.body === "string"
      ? init.body
      : JSON.stringify(init.body);
    // through the gateway's entry point, as a served request goes (the response cache is in front)
    const res = await g.fetch(
      new Request(new URL(path, "http://localhost"), {
        method,
        body,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          "x-forwarded-for": init.ip ?? "127.0.0.1",
          ...init.headers,
        },
      }),
    );
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  }

  /** Signs up a new user (funded by the engine when it runs). */
  async function signup(name = `u${++n}x${crypto.randomUUID().slice(0, 6)}`): Promise<Session> {
    const r = await call("POST", "/v1/auth/signup", { body: { username: name, password: "password-123" } });
    if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${r.text}`);
    return {
      userId: r.json.user.userId,
      username: name,
      accessToken: r.json.accessToken,
      refreshToken: r.json.refreshToken,
      headers: { authorization: `Bearer ${r.json.accessToken}` },
    };
  }

  /** Creates (idempotently) an admin and logs it in. */
  async function admin(): Promise<Session> {
    const { user } = await ensureUser(
      db.sql,
      { username: "root", password: "root-password", role: "admin" },
      {
        memorySize: 1024,
        iterations: 1,
      },
    );
    const tokens = await g.tokens.issue(user);
    return {
      userId: user.userId,
      username: user.username,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    };
  }

  return {
    ...g,
    redis: rf.redis,
    prefix: rf.prefix,
    sql: db.sql,
    databaseUrl: db.url,
    metrics,
    logLines: lines,
    engineProcess: engine,
    call,
    signup,
    admin,
    async [Symbol.asyncDispose]() {
      await cleanup();
    },
  };
}
