/**
 * market-sim: publishes model prices on `stream:ticks` and runs bot traders that trade through the
 * matching engine like any user, under the admin controls of `stream:sim-control`.
 * Serves /healthz, /metrics and /status on KALENCY_SIM_PORT.
 */
// first, so that a signal while the rest loads still stops the service cleanly
import "@lib/lifecycle/early";
import { opsHandler, serveOps } from "@lib/health";
import { createShutdown } from "@lib/lifecycle";
import { createLogger, LogThrottle } from "@lib/log";
import { addProcessMetrics, Registry } from "@lib/metrics";
import { loadServiceConfig, redisConnector, redisWaiting, runMain } from "@lib/service";
import { derivedPassword, gatewayAccounts } from "./bot_accounts.ts";
import { populationOf, SimConfig } from "./config.ts";
import { startMarketSim } from "./runner.ts";

async function main(): Promise<void> {
  const loaded = loadServiceConfig("market-sim", SimConfig);
  if (!loaded) Deno.exit(2); // the message named each bad variable
  const config = loaded;
  const log = createLogger("market-sim", { level: config.LOG_LEVEL });
  const shutdown = createShutdown({
    onClose: (name, error) => error && log.warn("closing failed", { name, error: String(error) }),
  });
  const registry = new Registry();
  addProcessMetrics(registry, "market-sim");

  const redisErrors = new LogThrottle(5000);
  const connect = redisConnector(config.REDIS_URL, shutdown, {
    onWaiting: redisWaiting(log, config.REDIS_URL),
    onError: (_name, e) => {
      const suppressed = redisErrors.allow("redis");
      if (suppressed !== undefined) {
        log.warn("redis connection error; reconnecting", { error: e.message, suppressed });
      }
    },
  });
  const redis = await connect("market-sim");
  const controlReader = await connect("market-sim-controls");
  const replyReader = await connect("market-sim-replies");

  const gateway = config.KALENCY_GATEWAY_URL.replace(/\/+$/, "");
  const accounts = gatewayAccounts(
    gateway,
    (username) => config.KALENCY_BOT_PASSWORD ?? derivedPassword(config.KALENCY_SEED, username),
  );
  const sim = await startMarketSim({
    redis,
    controlReader,
    replyReader,
    prefix: config.KALENCY_PREFIX,
    accounts,
    log,
    registry,
  }, {
    seed: config.KALENCY_SEED,
    intervalMs: config.KALENCY_SIM_INTERVAL_MS,
    profile: config.KALENCY_SIM_PROFILE,
    bots: populationOf(config),
    botParams: {
      makerLevels: config.KALENCY_SIM_MAKER_LEVELS,
      maxOpenOrders: config.KALENCY_SIM_MAX_OPEN_ORDERS,
    },
    startRunning: config.KALENCY_SIM_START_ON_BOOT,
    symbols: config.KALENCY_SIM_SYMBOLS,
    ticksMaxLen: config.KALENCY_SIM_TICKS_MAXLEN,
  });
  shutdown.defer("simulator", () => sim.stop());

  const stallMs = Math.max(5000, 10 * config.KALENCY_SIM_INTERVAL_MS);
  const handler = opsHandler(
    "market-sim",
    registry,
    {
      redis: () => redis.ping(),
      gateway: async () => {
        const { pending, lastError } = sim.accounts();
        if (pending === 0) return "every bot has its account";
        const res = await fetch(`${gateway}/healthz`, { signal: AbortSignal.timeout(1500) });
        await res.body?.cancel();
        if (!res.ok) {
          throw new Error(
            `${gateway}/healthz answered ${res.status}; ${pending} bots wait for sign-up`,
          );
        }
        if (lastError) throw new Error(`gateway reachable, but bot sign-up fails: ${lastError}`);
        return `${pending} bots signing up`;
      },
      loop: () => {
        const age = Date.now() - sim.lastLoopAt();
        if (age > stallMs) throw new Error(`the simulation loop has not run for ${age} ms`);
        return Promise.resolve({ step: sim.sim.stepCount, running: sim.sim.running });
      },
    },
    (req) => new URL(req.url).pathname === "/status" ? Response.json(sim.sim.status(Date.now())) : undefined,
  );
  const server = serveOps(
    { hostname: config.KALENCY_HOST, port: config.KALENCY_SIM_PORT, portVar: "KALENCY_SIM_PORT" },
    handler,
  );
  shutdown.defer("ops server", () => server.shutdown());
  log.info("market-sim started", {
    port: config.KALENCY_SIM_PORT,
    prefix: config.KALENCY_PREFIX,
    gateway,
    symbols: sim.sim.symbols.length,
  });

  await shutdown.done;
  log.info("market-sim stopped");
}

if (import.meta.main) await runMain(main);
