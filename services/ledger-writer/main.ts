/**
 * The ledger-writer process: config -> Redis + PostgreSQL -> the consumer loops, with /healthz and
 * /metrics, until SIGINT/SIGTERM (finish the current batch, commit, ack, close, exit 0).
 * @module
 */
import { ConfigError, loadConfig } from "@lib/config";
import type { Sql } from "@lib/db";
import postgres from "postgres";
import { opsHandler, runHealthChecks, serveOps } from "@lib/health";
import { createShutdown } from "@lib/lifecycle";
import { createLogger } from "@lib/log";
import { addProcessMetrics, Registry } from "@lib/metrics";
import { connectRedis, type RedisClient } from "@lib/redis";
import { LedgerConfig } from "./config.ts";
import { startLedgerWriter } from "./run.ts";

const SERVICE = "ledger-writer";

/**
 * The pool `connectDb` opens, but reconnecting within a second once the database is back:
 * postgres.js otherwise waits up to 20 s between attempts after repeated failures, which would
 * stretch the catch-up after an outage.
 */
function connectLedgerDb(url: string, max: number): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 30,
    types: {},
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
  }) as unknown as Sql;
}

/** Waits for `p` at most `ms` (a health probe must answer even when Redis does not). */
function within(ms: number, p: Promise<unknown>): Promise<unknown> {
  let timer: number | undefined;
  return Promise.race([p.catch(() => {}), new Promise((r) => timer = setTimeout(r, ms))])
    .finally(() => clearTimeout(timer));
}

async function main(): Promise<number> {
  let config: LedgerConfig;
  try {
    config = loadConfig(LedgerConfig);
  } catch (e) {
    if (e instanceof ConfigError) {
      createLogger(SERVICE).error(e.message);
      return 2;
    }
    throw e;
  }
  const log = createLogger(SERVICE, { level: config.LOG_LEVEL });
  const shutdown = createShutdown({
    onClose: (name, error) => error && log.warn("closing failed", { name, error }),
  });
  const registry = new Registry();
  addProcessMetrics(registry, SERVICE);

  const connect = async (name: string): Promise<RedisClient> => {
    const c = await connectRedis(config.REDIS_URL, {
      name: `${SERVICE}-${name}`,
      onError: (e) => log.debug("redis connection error", { name, error: e.message }),
    });
    shutdown.defer(`redis ${name}`, () => c.close());
    return c;
  };
  try {
    const redis = await connect("writer");
    const readers = {
      executions: await connect("executions"),
      wallet: await connect("wallet"),
      orderEvents: await connect("order-events"),
    };
    // a connection per concurrent write of each stream, plus one for health checks
    const sql = connectLedgerDb(
      config.DATABASE_URL,
      config.KALENCY_LEDGER_TRADE_CONCURRENCY + config.KALENCY_LEDGER_EVENT_CONCURRENCY + 2,
    );
    shutdown.defer("postgres", () => sql.end({ timeout: 5 }));

    const writer = startLedgerWriter({ redis, readers, sql, log, registry }, {
      prefix: config.KALENCY_PREFIX,
      consumer: config.KALENCY_LEDGER_CONSUMER,
      feeAccount: config.KALENCY_FEE_ACCOUNT,
      tradeBatch: config.KALENCY_LEDGER_TRADE_BATCH,
      eventBatch: config.KALENCY_LEDGER_EVENT_BATCH,
      tradeConcurrency: config.KALENCY_LEDGER_TRADE_CONCURRENCY,
      eventConcurrency: config.KALENCY_LEDGER_EVENT_CONCURRENCY,
      blockMs: config.KALENCY_LEDGER_BLOCK_MS,
      retry: { initialMs: config.KALENCY_LEDGER_RETRY_MS, maxMs: config.KALENCY_LEDGER_RETRY_MAX_MS },
      lagIntervalMs: 1000,
    }, shutdown.signal);

    const ops = opsHandler(SERVICE, registry, {});
    const server = serveOps(
      { hostname: config.KALENCY_HOST, port: config.KALENCY_LEDGER_PORT },
      async (req) => {
        if (new URL(req.url).pathname !== "/healthz") return ops(req);
        // the lag is measured now, not taken from the last periodic probe
        const [report] = await Promise.all([
          runHealthChecks(SERVICE, { redis: () => redis.ping(), postgres: () => sql`SELECT 1` }),
          within(1000, writer.refresh()),
        ]);
        const s = writer.status();
        const down = Object.entries(report.checks).filter(([, c]) => !c.ok).map(([n, c]) =>
          `${n}: ${c.error}`
        );
        const degraded: string[] = [];
        for (const [stream, f] of Object.entries(s.failing)) {
          degraded.push(
            `${stream}: writes failing for ${Math.round((Date.now() - f.since) / 1000)} s (${f.error})`,
          );
        }
        for (const [stream, l] of Object.entries(s.lag)) {
          if (l.lag > config.KALENCY_LEDGER_LAG_WARN) degraded.push(`${stream}: ${l.lag} entries behind`);
        }
        const status = down.length ? "unavailable" : degraded.length ? "degraded" : "ok";
        return Response.json({
          status,
          service: SERVICE,
          reasons: [...down, ...degraded],
          checks: report.checks,
          lag: s.lag,
          failing: s.failing,
        }, { status: status === "unavailable" ? 503 : 200 });
      },
    );
    shutdown.defer("ops server", () => server.shutdown());
    log.info("ledger writer running", { prefix: config.KALENCY_PREFIX, port: config.KALENCY_LEDGER_PORT });
    // registered last so it runs first: the loops commit and acknowledge their batch before anything closes
    shutdown.defer("consumer loops", () => writer.done);
    const ended = writer.done.then(() => {
      if (!shutdown.signal.aborted) throw new Error("the consumer loops ended on their own");
    });
    await Promise.race([shutdown.done, ended]);
  } catch (e) {
    log.error("the ledger writer stopped on an error", { error: e });
    await shutdown.shutdown("fatal");
    return 1;
  }
  log.info("stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main());
