/**
 * The ledger-writer process: config -> Redis + PostgreSQL -> the consumer loops, with /healthz and
 * /metrics, until SIGINT/SIGTERM (finish the current batch, commit, ack, close, exit 0).
 * @module
 */
// first, so that a signal while the rest loads still stops the service cleanly
import "@lib/lifecycle/early";
import { CopyWriter, type Sql } from "@lib/db";
import postgres from "postgres";
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

async function main(): Promise<number> {
  const config = loadServiceConfig(SERVICE, LedgerConfig);
  if (!config) return 2;
  const { log, shutdown, registry } = serviceBasics(SERVICE, config.LOG_LEVEL);
  const connect = redisConnector(config.REDIS_URL, shutdown, {
    namePrefix: SERVICE,
    onError: (name, e) => log.debug("redis connection error", { name, error: e.message }),
    onWaiting: redisWaiting(log, config.REDIS_URL),
  });
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
    // new trades and order events go in by COPY on connections of their own (one per concurrent batch)
    const copy = new CopyWriter(config.DATABASE_URL);
    shutdown.defer("postgres copy", () => copy.close());

    const writer = startLedgerWriter({ redis, readers, sql, copy, log, registry }, {
      prefix: config.KALENCY_PREFIX,
      consumer: config.KALENCY_LEDGER_CONSUMER,
      feeAccount: config.KALENCY_FEE_ACCOUNT,
      tradeBatch: config.KALENCY_LEDGER_TRADE_BATCH,
      eventBatch: config.KALENCY_LEDGER_EVENT_BATCH,
      tradeConcurrency: config.KALENCY_LEDGER_TRADE_CONCURRENCY,
      eventConcurrency: config.KALENCY_LEDGER_EVENT_CONCURRENCY,
      blockMs: config.KALENCY_LEDGER_BLOCK_MS,
      lingerMs: config.KALENCY_LEDGER_LINGER_MS,
      retry: { initialMs: config.KALENCY_LEDGER_RETRY_MS, maxMs: config.KALENCY_LEDGER_RETRY_MAX_MS },
      lagIntervalMs: 1000,
    }, shutdown.signal);

    const ops = opsHandler(SERVICE, registry, {});
    const server = serveOps(
      { hostname: config.KALENCY_HOST, port: config.KALENCY_LEDGER_PORT, portVar: "KALENCY_LEDGER_PORT" },
      async (req) => {
        if (new URL(req.url).pathname !== "/healthz") return ops(req);
        // the lag is measured now, not taken from the last periodic probe
        const [report] = await Promise.all([
          runHealthChecks(SERVICE, {
            redis: () => redis.ping(),
            postgres: async () => void await sql`SELECT 1`,
          }),
          withinMs(1000, writer.refresh()),
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
        degraded.push(...lagReasons(s.lag, config.KALENCY_LEDGER_LAG_WARN));
        return healthResponse(SERVICE, down, degraded, {
          checks: report.checks,
          lag: s.lag,
          failing: s.failing,
        });
      },
    );
    shutdown.defer("ops server", () => server.shutdown());
    log.info("ledger writer running", { prefix: config.KALENCY_PREFIX, port: config.KALENCY_LEDGER_PORT });
    // registered last so it runs first: the loops commit and acknowledge their batch before anything closes
    await untilShutdown(shutdown, writer.done);
  } catch (e) {
    if (stoppedBySignal()) {
      // SIGINT/SIGTERM while starting (waiting for Redis, say): what failed is what the shutdown closed
      await shutdown.done;
      log.info("stopped while starting", { error: errorText(e) });
      return 0;
    }
    log.error("the ledger writer stopped on an error", { error: e });
    await shutdown.shutdown("fatal");
    return 1;
  }
  log.info("stopped");
  return 0;
}

if (import.meta.main) await runMain(main);
