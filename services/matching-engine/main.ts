/**
 * The matching-engine process: config -> Redis connections -> recovery -> the batch loop, with
 * /healthz and /metrics, until SIGINT/SIGTERM (finish the batch, commit, final snapshot, exit 0).
 * @module
 */
// first, so that a signal while the rest loads still stops the service cleanly
import "@lib/lifecycle/early";
import { redisWaiting } from "@lib/service";
import { ConfigError, loadConfig } from "@lib/config";
import { opsHandler, serveOps } from "@lib/health";
import { createShutdown } from "@lib/lifecycle";
import { createLogger } from "@lib/log";
import { addProcessMetrics, Registry } from "@lib/metrics";
import {
  connectRedis,
  nodeRedisStreamReader,
  type RedisClient,
  RespBatchConnection,
  RespStreamReader,
} from "@lib/redis";
import { EngineConfig, engineSettingsFrom } from "./config.ts";
import { createEngine, defaultEngineSettings, restoreEngine } from "./engine.ts";
import { createEngineMetrics, EngineRunner } from "./run.ts";

const SERVICE = "matching-engine";

async function main(): Promise<number> {
  let config: EngineConfig;
  let settings;
  const log0 = createLogger(SERVICE);
  try {
    config = loadConfig(EngineConfig);
    settings = engineSettingsFrom(config, defaultEngineSettings());
  } catch (e) {
    if (e instanceof ConfigError || e instanceof TypeError) {
      log0.error(e.message);
      return 2;
    }
    throw e;
  }
  const log = createLogger(SERVICE, { level: config.LOG_LEVEL });
  const shutdown = createShutdown({
    // the final snapshot of a big state takes seconds
    closeTimeoutMs: 60_000,
    onClose: (name, error) => error && log.warn("closing failed", { name, error }),
  });
  const registry = new Registry();
  addProcessMetrics(registry, SERVICE);
  const metrics = createEngineMetrics(registry);

  const onError = (name: string) => (e: Error) =>
    log.debug("redis connection error", { name, error: e.message });
  const connections: RedisClient[] = [];
  const connect = async (name: string) => {
    const c = await connectRedis(config.REDIS_URL, {
      name: `${SERVICE}-${name}`,
      onError: onError(name),
      onWaiting: redisWaiting(log, config.REDIS_URL),
      signal: shutdown.signal,
    });
    connections.push(c);
    shutdown.defer(`redis ${name}`, () => c.close());
    return c;
  };
  let runner: EngineRunner | undefined;
  try {
    // the command stream is read with a RESP reader of its own (node-redis for TLS connections)
    const reader = config.REDIS_URL.startsWith("rediss:")
      ? nodeRedisStreamReader(await connect("reader"))
      : new RespStreamReader(config.REDIS_URL);
    shutdown.defer("command reader", () => reader.close());
    const aux = await connect("aux");

    const checks = {
      redis: () => aux.ping(),
      loop: () => {
        if (!runner) return Promise.reject(new Error("recovering"));
        const idle = Date.now() - runner.lastLoopAt;
        const limit = Math.max(5000, 4 * config.KALENCY_ENGINE_BLOCK_MS);
        return idle > limit
          ? Promise.reject(new Error(`the loop has not turned for ${idle} ms`))
          : Promise.resolve({ idleMs: idle });
      },
      lag: async () => {
        if (!runner) return undefined;
        const lag = await runner.measureLag();
        return { entriesBehind: lag.entries, msBehind: lag.ms, cursor: runner.cursor };
      },
    };
    const server = serveOps(
      { hostname: config.KALENCY_HOST, port: config.KALENCY_ENGINE_PORT, portVar: "KALENCY_ENGINE_PORT" },
      opsHandler(SERVICE, registry, checks),
    );
    shutdown.defer("ops server", () => server.shutdown());
    log.info("ops server listening", { host: config.KALENCY_HOST, port: config.KALENCY_ENGINE_PORT });

    runner = await EngineRunner.start({
      connectBatches: () => RespBatchConnection.connect(config.REDIS_URL),
      reader,
      aux,
      factory: { createEngine, restoreEngine },
      settings,
      log,
      metrics,
    }, {
      prefix: config.KALENCY_PREFIX,
      batchSize: config.KALENCY_ENGINE_BATCH,
      blockMs: config.KALENCY_ENGINE_BLOCK_MS,
      snapshotIntervalMs: config.KALENCY_SNAPSHOT_INTERVAL_MS,
      snapshotEvery: config.KALENCY_SNAPSHOT_EVERY,
      snapshot: {
        compress: config.KALENCY_SNAPSHOT_COMPRESS,
        chunkBytes: config.KALENCY_SNAPSHOT_CHUNK_MB * 1024 * 1024,
      },
      outputs: {
        streamMaxLen: config.KALENCY_STREAM_MAXLEN,
        replyMaxLen: config.KALENCY_REPLY_MAXLEN,
        closedOrderTtlSeconds: config.KALENCY_CLOSED_ORDER_TTL_S,
      },
      commandRetentionMs: config.KALENCY_COMMAND_RETENTION_MS,
      commandMaxLen: config.KALENCY_COMMAND_MAXLEN,
    });
    if (shutdown.signal.aborted) {
      // SIGINT/SIGTERM came while recovering: the shutdown has closed the connections already, and
      // nothing new was applied (the next start recovers the same state)
      await shutdown.done;
      log.info("stopped while recovering", { cursor: runner.cursor });
      return 0;
    }
    // keeps the lag gauges fresh between scrapes
    const lagTimer = setInterval(() => runner?.measureLag().catch(() => {}), 2000);
    shutdown.defer("lag probe", () => clearInterval(lagTimer));

    log.info("engine running", { prefix: config.KALENCY_PREFIX, cursor: runner.cursor });
    const loop = runner.run(shutdown.signal);
    // registered last so it runs first: the loop finishes its batch before anything closes
    shutdown.defer("engine loop", () => loop.catch(() => {}));
    await loop;
  } catch (e) {
    if (!runner && shutdown.signal.aborted) {
      // SIGINT/SIGTERM while recovering: the shutdown closed the connections under the recovery,
      // which applied nothing to Redis yet; a clean stop, the next start recovers again
      await shutdown.done;
      log.info("stopped while recovering", { error: String(e) });
      return 0;
    }
    log.error("the engine stopped on an error", { error: e });
    await shutdown.shutdown("fatal");
    return 1;
  }
  await shutdown.shutdown("stopped");
  await shutdown.done;
  log.info("stopped", { cursor: runner?.cursor, snapshot: runner?.lastSnapshot?.cursor ?? null });
  return 0;
}

if (import.meta.main) Deno.exit(await main());
