/**
 * The web process: reads its settings from the environment, serves the pages on
 * KALENCY_HOST:KALENCY_WEB_PORT, and stops cleanly on SIGINT/SIGTERM.
 *
 * Environment: KALENCY_WEB_PORT (8000), KALENCY_HOST (127.0.0.1), KALENCY_GATEWAY_URL (the gateway
 * as this server reaches it, http://127.0.0.1:8080), KALENCY_PUBLIC_GATEWAY_URL (as browsers reach
 * it; default: the page's host name with the gateway's port), KALENCY_WEB_ASSETS_DIR (built islands),
 * KALENCY_MAKER_FEE_BPS / KALENCY_TAKER_FEE_BPS (fee estimate fallback), LOG_LEVEL, LOG_FORMAT.
 * @module
 */
// first, so that a signal while the rest loads still stops the service cleanly
import "@lib/lifecycle/early";
import { listening } from "@lib/health";
import { z } from "zod";
import { BaseConfig, DEFAULT_PORTS, Port } from "@lib/config";
import { loadServiceConfig } from "@lib/service";
import { createShutdown } from "@lib/lifecycle";
import { createLogger } from "@lib/log";
import { addProcessMetrics, Registry } from "@lib/metrics";
import { createApp } from "./app.ts";

const HttpUrl = z.string().regex(
  /^https?:\/\/[^/]+$/,
  "must be an http(s) URL without a path, e.g. http://127.0.0.1:8080",
);

const WebConfig = BaseConfig.pick({ KALENCY_HOST: true, LOG_LEVEL: true, LOG_FORMAT: true }).extend({
  KALENCY_WEB_PORT: Port.default(DEFAULT_PORTS.KALENCY_WEB_PORT),
  KALENCY_GATEWAY_URL: HttpUrl.default(`http://127.0.0.1:${DEFAULT_PORTS.KALENCY_GATEWAY_PORT}`),
  KALENCY_PUBLIC_GATEWAY_URL: HttpUrl.optional(),
  KALENCY_WEB_ASSETS_DIR: z.string().optional(),
  /** Fees for the order form's estimate when the market listing has none (the engine's variables). */
  KALENCY_MAKER_FEE_BPS: z.coerce.number().int().min(0).max(10_000).default(0),
  KALENCY_TAKER_FEE_BPS: z.coerce.number().int().min(0).max(10_000).default(0),
});

const loaded = loadServiceConfig("web", WebConfig);
if (!loaded) Deno.exit(2); // the message named each bad variable
const config = loaded;
const log = createLogger("web", { level: config.LOG_LEVEL });
const shutdown = createShutdown({
  onClose: (name, error) => error && log.warn("close failed", { name, error }),
});
const registry = new Registry();
addProcessMetrics(registry, "web");

const app = await createApp({
  gatewayUrl: config.KALENCY_GATEWAY_URL,
  publicGatewayUrl: config.KALENCY_PUBLIC_GATEWAY_URL,
  assetsDir: config.KALENCY_WEB_ASSETS_DIR,
  fees: { makerBps: config.KALENCY_MAKER_FEE_BPS, takerBps: config.KALENCY_TAKER_FEE_BPS },
  log,
  registry,
});

// A signal during the start (building the islands takes a while) has already run the shutdown: a
// server started now would never be stopped.
if (!shutdown.signal.aborted) {
  const server = listening(config.KALENCY_WEB_PORT, "KALENCY_WEB_PORT", () =>
    Deno.serve({
      hostname: config.KALENCY_HOST,
      port: config.KALENCY_WEB_PORT,
      signal: shutdown.signal,
      onListen: ({ hostname, port }) =>
        log.info("web listening", { url: `http://${hostname}:${port}`, gateway: config.KALENCY_GATEWAY_URL }),
    }, app.fetch));
  shutdown.defer("http server", () => server.finished);
}

await shutdown.done;
log.info("web stopped");
Deno.exit(0);
