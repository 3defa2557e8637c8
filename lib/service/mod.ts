/**
 * The start-up pieces every service's `main.ts` shares: config that fails readably, the logger,
 * shutdown and metrics trio, Redis connections closed at shutdown, running until the shutdown, and
 * the exit code. Only `main.ts` files use this module.
 *
 * @example
 * ```ts
 * import { loadServiceConfig, redisConnector, runMain, serviceBasics, untilShutdown } from "@lib/service";
 * async function main(): Promise<number> {
 *   const config = loadServiceConfig("my-service", MyConfig);
 *   if (!config) return 2;
 *   const { log, shutdown, registry } = serviceBasics("my-service", config.LOG_LEVEL);
 *   const connect = redisConnector(config.REDIS_URL, shutdown, { namePrefix: "my-service" });
 *   const loops = startLoops(await connect("reader"), shutdown.signal);
 *   await untilShutdown(shutdown, loops.done);
 *   return 0;
 * }
 * if (import.meta.main) await runMain(main);
 * ```
 * @module
 */
import type { z } from "zod";
import { ConfigError, loadConfig, maskUrlPassword } from "@lib/config";
import { createShutdown, type Shutdown, stoppedBySignal } from "@lib/lifecycle";
import { createLogger, type Logger, type LogLevel } from "@lib/log";
import { addProcessMetrics, Registry } from "@lib/metrics";
import { connectRedis, type RedisClient } from "@lib/redis";

/**
 * Loads `schema` from the environment. On a {@linkcode ConfigError} logs its message (naming each
 * bad variable) and returns undefined, so `main` can exit 2; other errors are thrown.
 */
export function loadServiceConfig<S extends z.ZodType>(
  service: string,
  schema: S,
  env?: Record<string, string | undefined>,
): z.output<S> | undefined {
  try {
    return loadConfig(schema, env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    createLogger(service).error(e.message);
    return undefined;
  }
}

/** What every service builds first. */
export interface ServiceBasics {
  log: Logger;
  /** Listens for SIGINT/SIGTERM; a closer that fails is logged as a warning. */
  shutdown: Shutdown;
  /** Already holds the process metrics of `service`. */
  registry: Registry;
}

/** The logger at `level`, the process shutdown and the metrics registry of `service`. */
export function serviceBasics(service: string, level: LogLevel): ServiceBasics {
  const log = createLogger(service, { level });
  const shutdown = createShutdown({
    onClose: (name, error) => error && log.warn("closing failed", { name, error }),
  });
  const registry = new Registry();
  addProcessMetrics(registry, service);
  return { log, shutdown, registry };
}

/** The warning of a service whose first Redis connection fails (it retries): names REDIS_URL. */
export function redisWaiting(log: Logger, url: string): (error: Error) => void {
  return (error) =>
    log.warn(`cannot reach Redis at REDIS_URL=${maskUrlPassword(url)} yet; retrying until it answers`, {
      error: error.message || error.name,
    });
}

/**
 * Returns `connect(name)`: opens a Redis connection (client name `<namePrefix>-<name>`, or `name`
 * without a prefix) and registers its close as the closer `redis <name>`. Connection errors go to
 * `onError` (node-redis reconnects by itself).
 */
export function redisConnector(
  url: string,
  shutdown: Shutdown,
  options: {
    namePrefix?: string;
    onError?: (name: string, error: Error) => void;
    /** Told once when the first connection cannot be made yet (it is retried until a stop). */
    onWaiting?: (error: Error) => void;
  } = {},
): (name: string) => Promise<RedisClient> {
  return async (name) => {
    const client = await connectRedis(url, {
      name: options.namePrefix ? `${options.namePrefix}-${name}` : name,
      onError: (e) => options.onError?.(name, e),
      onWaiting: options.onWaiting,
      signal: shutdown.signal,
    });
    shutdown.defer(`redis ${name}`, () => client.close());
    return client;
  };
}

/**
 * Registers `done` (the service's loops) as the closer `name` and waits until the shutdown has
 * finished. Call it after every other closer is registered: closers run last-registered first, so
 * the loops finish their work before the connections they use close. Rejects when `done` settles
 * before a shutdown started (the loops are not meant to end on their own).
 */
export async function untilShutdown(
  shutdown: Shutdown,
  done: Promise<unknown>,
  name = "consumer loops",
): Promise<void> {
  shutdown.defer(name, () => done);
  const ended = done.then(() => {
    if (!shutdown.signal.aborted) throw new Error(`the ${name} ended on their own`);
  });
  await Promise.race([shutdown.done, ended]);
}

/**
 * Runs a service's `main` and exits the process with the code it returns (0 when it returns
 * nothing). An error that escapes `main` is printed and exits 1.
 */
export async function runMain(main: () => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    code = (await main()) ?? 0;
  } catch (e) {
    const stopping = stoppedBySignal();
    if (stopping) {
      // SIGINT/SIGTERM while starting: the shutdown closed the connections the start-up was using,
      // and that is what failed. Nothing ran yet, so this is a clean stop.
      await stopping.done;
      console.error(`stopped while starting (${e instanceof Error ? e.message : e})`);
      code = 0;
    } else {
      console.error(e instanceof Error ? e.message : e);
      code = 1;
    }
  }
  Deno.exit(code);
}
