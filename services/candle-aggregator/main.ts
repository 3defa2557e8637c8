/**
 * The candle-aggregator process: config -> Redis (+ PostgreSQL) -> the consumer loops, with
 * /healthz and /metrics, until SIGINT/SIGTERM (finish the current batch, ack, close, exit 0).
 * @module
 */
import { ConfigError, loadConfig } from "@lib/config";
import { connectDb, type Sql } from "@lib/db";
import { opsHandler, runHealthChecks, serveOps } from "@lib/health";
import { createShutdown } from "@lib/lifecycle";
import { createLogger } from "@lib/log";
import { addProcessMetrics, Registry } from "@lib/metrics";
import { connectRedis, type RedisClient } from "@lib/redis";
import { retentionFor } from "./candle_store.ts";
import { CandleConfig } from "./config.ts";
import { startCandleService } from "./run.ts";

const SERVICE = "candle-aggregator";

/** Waits for `p` at most `ms` (a health probe must answer even when Redis does not). */
function within(ms: number, p: Promise<unknown>): Promise<unknown> {
  let timer: number | undefined;
  return Promise.race([p.catch(() => {}), new Promise((r) => timer = setTimeout(r, ms))])
    .finally(() => clearTimeout(timer));
}

async function main(): Promise<number> {
  let config: CandleConfig;
  try {
    config = loadConfig(CandleConfig);
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
    const tradeReader = await connect("trades");
    const tickReader = await connect("ticks");
    let sql: Sql | undefined;
    if (config.KALENCY_CANDLES_HISTORY) {
      const pool = connectDb(config.DATABASE_URL, { max: 2 });
      sql = pool;
      shutdown.defer("postgres", () => pool.end({ timeout: 5 }));
    }

    const service = startCandleService({ redis, tradeReader, tickReader, sql, log, registry }, {
      prefix: config.KALENCY_PREFIX,
      consumer: config.KALENCY_CANDLES_CONSUMER,
      batchSize: config.KALENCY_CANDLES_BATCH,
      blockMs: config.KALENCY_CANDLES_BLOCK_MS,
      streamMaxLen: config.KALENCY_CANDLES_STREAM_MAXLEN,
      retention: retentionFor(config.KALENCY_CANDLES_REDIS_KEEP),
      indexCandles: config.KALENCY_CANDLES_INDEX,
      flushIntervalMs: config.KALENCY_CANDLES_FLUSH_MS,
      flushBatch: config.KALENCY_CANDLES_FLUSH_BATCH,
      lagIntervalMs: 1000,
    }, shutdown.signal);

    const ops = opsHandler(SERVICE, registry, {});
    const server = serveOps(
      { hostname: config.KALENCY_HOST, port: config.KALENCY_CANDLES_PORT },
      async (req) => {
        if (new URL(req.url).pathname !== "/healthz") return ops(req);
        const checks: Record<string, () => Promise<unknown>> = { redis: () => redis.ping() };
        if (sql) checks.postgres = () => sql`SELECT 1`;
        // the lag is measured now, not taken from the last periodic probe
        const [report] = await Promise.all([
          runHealthChecks(SERVICE, checks),
          within(1000, service.refresh()),
        ]);
        const s = service.status();
        const reasons: string[] = [];
        if (!report.checks.redis?.ok) reasons.push(`redis: ${report.checks.redis?.error}`);
        const degraded: string[] = [];
        if (report.checks.postgres && !report.checks.postgres.ok) {
          degraded.push(`postgres: ${report.checks.postgres.error}; closed candles wait in the Redis outbox`);
        } else if (s.lastFlushError) degraded.push(`postgres writes failing: ${s.lastFlushError}`);
        if (s.lastError) degraded.push(`batches failing: ${s.lastError}`);
        for (const [stream, l] of Object.entries(s.lag)) {
          if (l.lag > config.KALENCY_CANDLES_LAG_WARN) degraded.push(`${stream}: ${l.lag} entries behind`);
        }
        const status = reasons.length ? "unavailable" : degraded.length ? "degraded" : "ok";
        return Response.json({
          status,
          service: SERVICE,
          reasons: [...reasons, ...degraded],
          checks: report.checks,
          lag: s.lag,
          outbox: s.outbox,
        }, { status: status === "unavailable" ? 503 : 200 });
      },
    );
    shutdown.defer("ops server", () => server.shutdown());
    log.info("candle aggregator running", {
      prefix: config.KALENCY_PREFIX,
      port: config.KALENCY_CANDLES_PORT,
      history: Boolean(sql),
      index: config.KALENCY_CANDLES_INDEX,
    });
    // registered last so it runs first: the loops finish their batch before connections close
    shutdown.defer("consumer loops", () => service.done);
    const ended = service.done.then(() => {
      if (!shutdown.signal.aborted) throw new Error("the consumer loops ended on their own");
    });
    await Promise.race([shutdown.done, ended]);
  } catch (e) {
    log.error("the candle aggregator stopped on an error", { error: e });
    await shutdown.shutdown("fatal");
    return 1;
  }
  log.info("stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main());
