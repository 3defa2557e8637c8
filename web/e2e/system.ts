/**
 * Starts the real Kalency processes for the web's end-to-end tests: matching engine, candle
 * aggregator, ledger writer, gateway and web, each as its own `deno run` child on a free port, all on
 * one fresh database and one unique Redis key prefix, with the market simulator off. Disposing stops
 * them (SIGTERM, then SIGKILL after a grace period) and removes the prefix's keys and the database.
 * @module
 */
import { DEFAULT_PORTS } from "@lib/config";
import { connectRedis } from "@lib/redis";
import { dbFixture, deletePrefix, freePort, TEST_REDIS_URL, uniquePrefix } from "@lib/testing";
import { buildIslands } from "../build.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

export type ServiceName = "matching-engine" | "candle-aggregator" | "ledger-writer" | "gateway" | "web";

const SERVICES: Record<ServiceName, { file: string; portVar: keyof typeof DEFAULT_PORTS }> = {
  "matching-engine": { file: "services/matching-engine/main.ts", portVar: "KALENCY_ENGINE_PORT" },
  "candle-aggregator": { file: "services/candle-aggregator/main.ts", portVar: "KALENCY_CANDLES_PORT" },
  "ledger-writer": { file: "services/ledger-writer/main.ts", portVar: "KALENCY_LEDGER_PORT" },
  gateway: { file: "services/gateway/main.ts", portVar: "KALENCY_GATEWAY_PORT" },
  web: { file: "web/main.ts", portVar: "KALENCY_WEB_PORT" },
};

export const ALL_SERVICES: ServiceName[] = [
  "matching-engine",
  "candle-aggregator",
  "ledger-writer",
  "gateway",
  "web",
];

export const ADMIN = { username: "admin", password: "admin-password-for-tests" };

export interface System extends AsyncDisposable {
  prefix: string;
  databaseUrl: string;
  gatewayUrl: string;
  webUrl: string;
  /** The last lines each process printed (for failure messages). */
  logs(name?: ServiceName): string;
}

interface Child {
  name: ServiceName;
  process: Deno.ChildProcess;
  port: number;
  output: string[];
  drained: Promise<void>;
}

async function drain(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    for (const line of decoder.decode(chunk, { stream: true }).split("\n")) {
      if (line.trim()) into.push(line);
    }
    if (into.length > 400) into.splice(0, into.length - 200);
  }
}

async function waitHealthy(child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.process.status.then(() => exited = true);
  let last = "";
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`${child.name} exited during start-up:\n${child.output.slice(-30).join("\n")}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${child.port}/healthz`, {
        signal: AbortSignal.timeout(2000),
      });
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
      if (res.ok) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(
    `${child.name} was not healthy within ${timeoutMs} ms (last answer: ${last}):\n${
      child.output.slice(-30).join("\n")
    }`,
  );
}

async function stop(child: Child): Promise<void> {
  try {
    child.process.kill("SIGTERM");
  } catch {
    // already gone
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = await Promise.race([
    child.process.status.then(() => false),
    new Promise<boolean>((r) => timer = setTimeout(() => r(true), 10_000)),
  ]);
  clearTimeout(timer);
  if (killed) {
    try {
      child.process.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.process.status;
  }
  await child.drained;
}

/** Starts the system; throws with the process logs when a service does not come up. */
export async function startSystem(
  options: { services?: ServiceName[]; env?: Record<string, string> } = {},
): Promise<System> {
  const services = options.services ?? ALL_SERVICES;
  for (const name of services) {
    try {
      await Deno.stat(ROOT + SERVICES[name].file);
    } catch {
      throw new Error(`${SERVICES[name].file} does not exist: the end-to-end test needs every service`);
    }
  }
  const db = await dbFixture();
  const prefix = uniquePrefix("web");
  const assetsDir = await Deno.makeTempDir({ prefix: "kalency-web-assets-" });
  const children: Child[] = [];
  const ports = Object.fromEntries(
    Object.values(SERVICES).map((s) => [s.portVar, String(freePort())]),
  ) as Record<keyof typeof DEFAULT_PORTS, string>;
  const gatewayUrl = `http://127.0.0.1:${ports.KALENCY_GATEWAY_PORT}`;
  const webUrl = `http://127.0.0.1:${ports.KALENCY_WEB_PORT}`;

  const dispose = async () => {
    for (const c of [...children].reverse()) await stop(c);
    const redis = await connectRedis(TEST_REDIS_URL);
    try {
      await deletePrefix(redis, prefix);
    } finally {
      await redis.close();
    }
    await db[Symbol.asyncDispose]();
    await Deno.remove(assetsDir, { recursive: true }).catch(() => {});
  };

  try {
    await buildIslands({ outDir: assetsDir });
    const env: Record<string, string> = {
      ...ports,
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: db.url,
      KALENCY_PREFIX: prefix,
      KALENCY_HOST: "127.0.0.1",
      KALENCY_ENV: "test",
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
      NO_COLOR: "1",
      KALENCY_GATEWAY_URL: gatewayUrl,
      KALENCY_PUBLIC_GATEWAY_URL: gatewayUrl,
      KALENCY_WEB_ASSETS_DIR: assetsDir,
      KALENCY_RATE_LIMIT: "false",
      KALENCY_ADMIN_USERNAME: ADMIN.username,
      KALENCY_ADMIN_PASSWORD: ADMIN.password,
      KALENCY_JWT_SECRET: "web-e2e-jwt-secret-0123456789abcdef",
      KALENCY_API_KEY_SECRET: "web-e2e-api-key-secret-0123456789ab",
      ...options.env,
    };
    // The engine first, so the others find its markets; the web last, so its first page is real.
    for (const name of services) {
      const spec = SERVICES[name];
      const process = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", spec.file],
        cwd: ROOT,
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output: string[] = [];
      const child: Child = {
        name,
        process,
        port: Number(ports[spec.portVar]),
        output,
        drained: Promise.all([drain(process.stdout, output), drain(process.stderr, output)]).then(() => {}),
      };
      children.push(child);
      await waitHealthy(child, 60_000);
    }
  } catch (e) {
    await dispose();
    throw e;
  }

  return {
    prefix,
    databaseUrl: db.url,
    gatewayUrl,
    webUrl,
    logs: (name) =>
      children.filter((c) => !name || c.name === name).map((c) =>
        `--- ${c.name}\n${c.output.slice(-40).join("\n")}`
      )
        .join("\n"),
    [Symbol.asyncDispose]: dispose,
  };
}
