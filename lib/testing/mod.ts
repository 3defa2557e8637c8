/**
 * Test fixtures: unique key prefixes on the real Redis, and throwaway PostgreSQL databases cloned
 * from a migrated template, so test files run in parallel without touching each other.
 * @module
 */
import { type Candle, type OrderAck, TIMEFRAME_MS } from "@lib/contracts";
import { connectRedis, type RedisClient } from "@lib/redis";
import { connectDb, migrate, MIGRATIONS_DIR, type Sql, withDatabase } from "@lib/db";
import type { Cleanup } from "./cleanup.ts";

export { type Cleanup, type CleanupOptions, createCleanup, withCleanup } from "./cleanup.ts";

export const TEST_REDIS_URL = Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379";
/** The server's maintenance database; test databases are created next to it. */
export const TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/test";

/** A key prefix no other test uses. */
export function uniquePrefix(label = "t"): string {
  return `kt:${label}:${crypto.randomUUID().slice(0, 8)}`;
}

/** Deletes every key under a prefix (used when a test ends). */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const r = await redis.scan(cursor, { MATCH: `${prefix}:*`, COUNT: 1000 });
    cursor = String(r.cursor);
    if (r.keys.length) await redis.unlink(r.keys);
  } while (cursor !== "0");
}

/**
 * Registers the deletion of every key under `prefix` with `cleanup`, on a connection of its own
 * opened then. Register it before anything that writes under the prefix (connections, loops,
 * child processes): those are then stopped first, and nothing writes after the deletion.
 */
export function deletePrefixOnCleanup(
  cleanup: Cleanup,
  prefix: string,
  url = TEST_REDIS_URL,
): () => Promise<void> {
  return cleanup.add(`redis prefix ${prefix}`, () => deletePrefixAt(url, prefix));
}

/** Deletes every key under `prefix` on a connection of its own. */
async function deletePrefixAt(url: string, prefix: string): Promise<void> {
  const redis = await connectRedis(url);
  try {
    await deletePrefix(redis, prefix);
  } finally {
    await redis.close();
  }
}

/**
 * A Redis connection and a fresh prefix; disposing removes the prefix's keys and closes. With
 * `cleanup`, that is also registered there (so a signal cleans up too), and disposing forgets it.
 */
export async function redisFixture(label?: string, options: { cleanup?: Cleanup } = {}): Promise<
  { redis: RedisClient; prefix: string; url: string } & AsyncDisposable
> {
  const redis = await connectRedis(TEST_REDIS_URL);
  const prefix = uniquePrefix(label);
  const remove = async () => {
    await deletePrefix(redis, prefix).catch(() => {});
    await redis.close();
  };
  // for a cleanup, which may come while the script still writes on `redis`: close it first (what
  // was sent completes), then delete on a connection of its own
  const closeThenRemove = async () => {
    await redis.close().catch(() => {}); // closed already by the script: the deletion still runs
    await deletePrefixAt(TEST_REDIS_URL, prefix);
  };
  const dispose = options.cleanup ? options.cleanup.add(`redis prefix ${prefix}`, closeThenRemove) : remove;
  return {
    redis,
    prefix,
    url: TEST_REDIS_URL,
    [Symbol.asyncDispose]: dispose,
  };
}

async function migrationsHash(): Promise<string> {
  const names = [...Deno.readDirSync(MIGRATIONS_DIR)].map((e) => e.name).filter((n) => n.endsWith(".sql"))
    .sort();
  let text = "";
  for (const n of names) text += n + (await Deno.readTextFile(`${MIGRATIONS_DIR}/${n}`));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].slice(0, 5).map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Makes sure a migrated template database exists for the current migrations; returns its name. */
async function ensureTemplate(admin: Sql): Promise<string> {
  const name = `kalency_tpl_${await migrationsHash()}`;
  await admin`SELECT pg_advisory_lock(4242)`;
  try {
    const found = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
    if (found.length === 0) {
      const building = `${name}_build`;
      await admin.unsafe(`DROP DATABASE IF EXISTS ${building}`);
      await admin.unsafe(`CREATE DATABASE ${building}`);
      await migrate(withDatabase(TEST_DATABASE_URL, building));
      await admin.unsafe(`ALTER DATABASE ${building} RENAME TO ${name}`);
    }
  } finally {
    await admin`SELECT pg_advisory_unlock(4242)`;
  }
  return name;
}

/**
 * A fresh database with the current schema; disposing drops it. With `cleanup`, the drop is
 * registered there before the database is created (so a signal drops it too), and disposing forgets it.
 */
export async function dbFixture(
  options: { cleanup?: Cleanup } = {},
): Promise<{ sql: Sql; url: string; name: string } & AsyncDisposable> {
  const name = `kalency_t_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const url = withDatabase(TEST_DATABASE_URL, name);
  // connects on its first query, after the CREATE
  const sql = connectDb(url);
  let creating: Promise<unknown> | undefined;
  const drop = async () => {
    // a drop that overtook the CREATE would find nothing and leave the database behind
    await creating?.catch(() => {});
    await sql.end({ timeout: 5 });
    await dropDatabase(name);
  };
  const dispose = options.cleanup
    ? options.cleanup.add(`database ${name}`, drop)
    : () => drop().catch(() => {});
  const admin = connectDb(TEST_DATABASE_URL, { max: 1 });
  try {
    creating = ensureTemplate(admin).then((template) =>
      admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`)
    );
    await creating;
  } catch (e) {
    await dispose();
    throw e;
  } finally {
    await admin.end({ timeout: 5 });
  }
  return { sql, url, name, [Symbol.asyncDispose]: dispose };
}

/** Drops a database on the test server, closing its connections (no error when it is gone). */
export async function dropDatabase(name: string): Promise<void> {
  const a = connectDb(TEST_DATABASE_URL, { max: 1 });
  try {
    await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await a.end({ timeout: 5 });
  }
}

/** Polls `fn` until it returns a truthy value or the time is up. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
  throw new Error(`timed out waiting for ${options.what ?? "condition"}${last ? `: ${last}` : ""}`);
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * A redis-server of a test's own on `port` (no persistence), for tests that stop and restart Redis;
 * the shared server is left alone. Resolves once it accepts connections.
 */
export async function startPrivateRedis(port: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitFor(async () => {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return true;
    } catch {
      return false;
    }
  }, { what: `redis-server on ${port}` });
  return child;
}

/** Stops a server {@linkcode startPrivateRedis} started, and waits for it to exit. */
export async function stopPrivateRedis(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  await child.status;
}

/**
 * A valid OrderAck for tests: alice's resting LIMIT BUY of 1 BTC-USD at 65000, nothing filled yet.
 * `over` replaces any field.
 */
export function sampleOrderAck(over: Partial<OrderAck> = {}): OrderAck {
  return {
    orderId: "o-1",
    userId: "alice",
    symbol: "BTC-USD",
    side: "BUY",
    type: "LIMIT",
    timeInForce: "GTC",
    postOnly: false,
    stp: "EXPIRE_TAKER",
    status: "ACCEPTED",
    price: "65000",
    qty: "1",
    filledQty: "0",
    remainingQty: "1",
    filledQuote: "0",
    avgPrice: "0",
    createdAt: 1_764_118_000_000,
    ts: 1_764_118_000_000,
    ...over,
  };
}

/**
 * A closed trade candle for tests: one BTC-USD trade of 1 at 1, in the 1m bucket opening at
 * 2026-11-26 00:00 UTC. `over` replaces any field; `closeTime` follows `openTime` and `timeframe`.
 */
export function sampleCandle(over: Partial<Candle> = {}): Candle {
  const timeframe = over.timeframe ?? "1m";
  const openTime = over.openTime ?? Date.UTC(2026, 10, 26);
  return {
    symbol: "BTC-USD",
    timeframe,
    openTime,
    closeTime: openTime + TIMEFRAME_MS[timeframe] - 1,
    open: "1",
    high: "1",
    low: "1",
    close: "1",
    volume: "1",
    quoteVolume: "1",
    trades: 1,
    closed: true,
    source: "trade",
    ...over,
  };
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (Linux), for the
 * benchmarks' CPU-per-request figures. `name`, when given, must match the process's command name
 * (the parenthesised field); undefined when it does not or the process is gone.
 */
export async function processCpuSeconds(pid: number | string, name?: string): Promise<number | undefined> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => undefined);
  if (stat === undefined || (name !== undefined && !stat.includes(`(${name})`))) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[11], fields[12]: utime, stime in clock ticks (USER_HZ, 100 on Linux)
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds (user + system) each PostgreSQL backend serving `database` has used so far, by pid,
 * from pg_stat_activity and /proc (the server must run on this machine; empty otherwise). Other
 * databases' backends and the server's background processes are not counted.
 */
export async function databaseBackendCpu(sql: Sql, database: string): Promise<Map<number, number>> {
  const rows = await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = ${database}`;
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const seconds = await processCpuSeconds(pid, "postgres");
    if (seconds !== undefined) out.set(pid, seconds);
  }
  return out;
}

/**
 * CPU seconds used between two samples of {@linkcode databaseBackendCpu}: each backend's increase,
 * counting one that started in between from zero (one that ended in between is missed).
 */
export function backendCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/**
 * CPU seconds the Redis server has used so far (INFO cpu: user + system). It counts every client
 * of the server, so on a shared Redis a per-command figure is an upper bound.
 */
export async function redisServerCpuSeconds(redis: RedisClient): Promise<number> {
  const info = await redis.info("cpu");
  const field = (name: string) => Number(info.match(new RegExp(`^${name}:([0-9.]+)`, "m"))?.[1] ?? 0);
  return field("used_cpu_user") + field("used_cpu_sys");
}
