/**
 * The candle-aggregator process: config -> Redis (+ PostgreSQL) -> the consumer loops, with
 * /healthz and /metrics, until SIGINT/SIGTERM (finish the current batch, ack, close, exit 0).
 * @module
 */
// first, so that a signal while the rest loads still stops the service cleanly
import "@lib/lifecycle/early";
import { connectDb, type Sql } from "@lib/db";
import { healthResponse, lagReasons, opsHandler, runHealthChecks, serveOps } from "@lib/health";
import { stoppedBySignal, withinMs } from "@lib/lifecycle";
import { errorText } from "@lib/log";
import {
  loadServiceConfig,
  redisConnector,
  redisWaiting,
  runMain,
  serviceBasics,
  untilShutdown,
} from "@lib/service";
import { CandleConfig } from "./config.ts";
import { serviceOptionsFrom, startCandleService } from "./run.ts";

const SERVICE = "candle-aggregator";

async function main(): Promise<number> {
  const config = loadServiceConfig(SERVICE, CandleConfig);
  if (!config) return 2;
  const { log, shutdown, registry } = serviceBasics(SERVICE, config.LOG_LEVEL);
  const connect = redisConnector(config.REDIS_URL, shutdown, {
    namePrefix: SERVICE,
    onError: (name, e) => log.debug("redis connection error", { name, error: e.message }),
    onWaiting: redisWaiting(log, config.REDIS_URL),
  });
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

    const service = startCandleService(
      { redis, tradeReader, tickReader, sql, log, registry },
      serviceOptionsFrom(config),
      shutdown.signal,
    );

    const ops = opsHandler(SERVICE, registry, {});
    const server = serveOps(
      { hostname: config.KALENCY_HOST, port: config.KALENCY_CANDLES_PORT, portVar: "KALENCY_CANDLES_PORT" },
      async (req) => {
        if (new URL(req.url).pathname !== "/healthz") return ops(req);
        const checks: Record<string, () => Promise<unknown>> = { redis: () => redis.ping() };
        if (sql) checks.postgres = async () => void await sql`SELECT 1`;
        // the lag is measured now, not taken from the last periodic probe
        const [report] = await Promise.all([
          runHealthChecks(SERVICE, checks),
          withinMs(1000, service.refresh()),
        ]);
        const s = service.status();
        const down: string[] = [];
        if (!report.checks.redis?.ok) down.push(`redis: ${report.checks.redis?.error}`);
        const degraded: string[] = [];
        if (report.checks.postgres && !report.checks.postgres.ok) {
          degraded.push(`postgres: ${report.checks.postgres.error}; closed candles wait in the Redis outbox`);
        } else if (s.lastFlushError) degraded.push(`postgres writes failing: ${s.lastFlushError}`);
        if (s.lastError) degraded.push(`batches failing: ${s.lastError}`);
        degraded.push(...lagReasons(s.lag, config.KALENCY_CANDLES_LAG_WARN));
        return healthResponse(SERVICE, down, degraded, {
          checks: report.checks,
          lag: s.lag,
          outbox: s.outbox,
        });
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
    await untilShutdown(shutdown, service.done);
  } catch (e) {
    if (stoppedBySignal()) {
      // SIGINT/SIGTERM while starting (waiting for Redis, say): what failed is what the shutdown closed
      await shutdown.done;
      log.info("stopped while starting", { error: errorText(e) });
      return 0;
    }
    log.error("the candle aggregator stopped on an error", { error: e });
    await shutdown.shutdown("fatal");
    return 1;
  }
  log.info("stopped");
  return 0;
}

if (import.meta.main) await runMain(main);
