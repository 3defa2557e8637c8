/**
 * `deno task up`: brings the whole of Kalency up on one machine.
 *
 * 1. Redis and PostgreSQL: REDIS_URL / DATABASE_URL when set; else servers on the default local
 *    ports; else it starts them itself with their data under `.data/`.
 * 2. Applies migrations (dbmate) and builds the web islands (esbuild).
 * 3. Starts every service as a child with coloured, name-prefixed logs, waits for each /healthz,
 *    and prints the URLs.
 * 4. Ctrl-C (or SIGTERM, or SIGHUP when the terminal closes) stops the children first, then any
 *    server it started, and exits 0.
 *
 * Options: --no-sim (leave the market simulator off), --no-infra (never start servers; fail if
 * they do not answer), --only a,b (start only these services).
 */
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { DEFAULT_DATABASE_URL, DEFAULT_PORTS, DEFAULT_REDIS_URL, maskUrlPassword } from "@lib/config";
import { migrate } from "@lib/db";
import {
  portInUse,
  postgresAnswers,
  postgresRefusal,
  redisAnswers,
  redisPersists,
  type StartedServer,
  startPostgres,
  startRedis,
  UpError,
  which,
} from "./up/infra.ts";
import { type ServiceSpec, supervise, type Supervised, waitHealthy } from "./up/processes.ts";
import { denoCommand, toolsHint } from "./up/banner.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const tty = Deno.stdout.isTerminal();
const bold = (s: string) => tty ? `\x1b[1m${s}\x1b[0m` : s;
const red = (s: string) => tty ? `\x1b[31m${s}\x1b[0m` : s;
const green = (s: string) => tty ? `\x1b[32m${s}\x1b[0m` : s;
const yellow = (s: string) => tty ? `\x1b[33m${s}\x1b[0m` : s;
const say = (s: string) => console.log(`${tty ? "\x1b[90m" : ""}up     |${tty ? "\x1b[0m" : ""} ${s}`);

function portFromEnv(name: keyof typeof DEFAULT_PORTS): number {
  const v = Deno.env.get(name);
  if (v === undefined || v === "") return DEFAULT_PORTS[name];
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new UpError(`${name}=${v} is not a port number`);
  return n;
}

/** The services in start order: file, and the variable that sets its port. */
const SERVICES: { name: string; file: string; portVar: keyof typeof DEFAULT_PORTS }[] = [
  { name: "matching-engine", file: "services/matching-engine/main.ts", portVar: "KALENCY_ENGINE_PORT" },
  { name: "ledger-writer", file: "services/ledger-writer/main.ts", portVar: "KALENCY_LEDGER_PORT" },
  { name: "candle-aggregator", file: "services/candle-aggregator/main.ts", portVar: "KALENCY_CANDLES_PORT" },
  { name: "gateway", file: "services/gateway/main.ts", portVar: "KALENCY_GATEWAY_PORT" },
  { name: "market-sim", file: "services/market-sim/main.ts", portVar: "KALENCY_SIM_PORT" },
  { name: "web", file: "web/main.ts", portVar: "KALENCY_WEB_PORT" },
];
const SERVICE_NAMES = SERVICES.map((s) => s.name);

function serviceSpecs(): ServiceSpec[] {
  return SERVICES.map(({ name, file, portVar }) => ({
    name,
    args: ["run", "-A", file],
    port: portFromEnv(portVar),
    portVar,
  }));
}

interface LocalSecrets {
  jwtSecret: string;
  apiKeySecret: string;
  adminPassword: string;
}

/**
 * Secrets that must survive restarts (tokens and API keys stay valid) but must never be a shared
 * default: made once per checkout and kept in .data/secrets.json (git-ignored, mode 600).
 */
async function localSecrets(): Promise<LocalSecrets> {
  const path = `${ROOT}.data/secrets.json`;
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    const random = (bytes: number) =>
      [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const secrets = { jwtSecret: random(32), apiKeySecret: random(32), adminPassword: random(9) };
    await Deno.mkdir(`${ROOT}.data`, { recursive: true });
    await Deno.writeTextFile(path, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
    return secrets;
  }
}

async function buildWeb(deno: string): Promise<void> {
  const out = await new Deno.Command(deno, {
    args: ["run", "-A", "web/build.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" ");
    throw new UpError(`Building the web islands failed: ${text}`);
  }
}

/** A second Ctrl-C within this many ms is the first one again, not a request to force the quit. */
const FORCE_AFTER_MS = 2000;

const USAGE = `usage: deno task up [--no-sim] [--no-infra] [--only NAME,NAME,...]

  --no-sim     leave the market simulator (and its bots) off
  --no-infra   never start Redis or PostgreSQL; fail when they do not answer
  --only       start only these services: ${SERVICE_NAMES.join(", ")}
               (orders need matching-engine and gateway; the web app needs the gateway)`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        "no-sim": { type: "boolean", default: false },
        "no-infra": { type: "boolean", default: false },
        only: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(red(`up: ${(e as Error).message}`));
    console.error(USAGE);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const only = values.only === undefined
    ? undefined
    : new Set(values.only.split(",").map((s) => s.trim()).filter((s) => s !== ""));
  const unknown = [...only ?? []].filter((n) => !SERVICE_NAMES.includes(n));
  if (unknown.length || only?.size === 0) {
    console.error(red(`up: --only names unknown services: ${unknown.join(", ") || "(none given)"}`));
    console.error(`the services are: ${SERVICE_NAMES.join(", ")}`);
    return 2;
  }
  const host = Deno.env.get("KALENCY_HOST") ?? "127.0.0.1";
  const shownHost = host === "0.0.0.0" || host === "127.0.0.1" ? "localhost" : host;
  const deno = Deno.execPath();
  const started: StartedServer[] = [];
  const children: Supervised[] = [];
  const stop = new AbortController();
  let stopping: Promise<void> | undefined;

  function shutdown(): Promise<void> {
    stop.abort();
    stopping ??= (async () => {
      say("stopping services...");
      for (const c of children) c.halt();
      for (const c of [...children].reverse()) await c.stop();
      await stopServers();
      say("all stopped");
    })();
    return stopping;
  }
  // Servers up started run in sessions of their own (out of the terminal's Ctrl-C), so every way
  // out must stop them; one that finished starting after the shutdown began is stopped on the way out.
  const stoppedServers = new Set<StartedServer>();
  async function stopServers(): Promise<void> {
    for (const s of [...started].reverse()) {
      if (stoppedServers.has(s)) continue;
      stoppedServers.add(s);
      say(`stopping ${s.name} that up started`);
      await s.stop().catch((e) => say(`could not stop ${s.name}: ${e.message}`));
    }
  }
  // A Ctrl-C can arrive twice (the terminal signals the whole process group, and `deno task` may
  // pass it on as well): a second signal within FORCE_AFTER_MS is the same Ctrl-C. A later one
  // forces the quit, killing the services instead of waiting for them.
  let firstSignalAt: number | undefined;
  const onSignal = () => {
    const now = Date.now();
    if (firstSignalAt === undefined) {
      firstSignalAt = now;
      void shutdown();
    } else if (now - firstSignalAt > FORCE_AFTER_MS) {
      say("forced quit: killing the services and the servers up started");
      for (const c of children) c.kill();
      for (const s of started) if (!stoppedServers.has(s)) s.kill();
      Deno.exit(130);
    }
  };
  // SIGHUP: the terminal closed or the SSH session dropped; the servers up started must go too
  const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const signal of SIGNALS) Deno.addSignalListener(signal, onSignal);

  try {
    let specs = serviceSpecs();
    if (values["no-sim"]) specs = specs.filter((s) => s.name !== "market-sim");
    if (only) specs = specs.filter((s) => only.has(s.name));
    // refuse taken ports before starting anything
    for (const s of specs) {
      if (portInUse(host, s.port)) {
        throw new UpError(
          `Port ${s.port} (${s.name}) is already in use: stop whatever holds it (is Kalency already running?) or set ${s.portVar}`,
        );
      }
    }

    // Redis
    const redisUrl = Deno.env.get("REDIS_URL");
    if (redisUrl) {
      if (!await redisAnswers(redisUrl)) {
        throw new UpError(
          `Redis at REDIS_URL=${maskUrlPassword(redisUrl)} does not answer: start it or fix REDIS_URL`,
        );
      }
      say(`redis: using ${maskUrlPassword(redisUrl)}`);
    } else if (await redisAnswers(DEFAULT_REDIS_URL)) {
      say(`redis: using the server on ${DEFAULT_REDIS_URL}`);
    } else if (values["no-infra"]) {
      throw new UpError(`No Redis answers at ${DEFAULT_REDIS_URL}: start one or set REDIS_URL`);
    } else {
      say("redis: none answering; starting redis-server with data in .data/redis");
      started.push(await startRedis(DEFAULT_REDIS_URL, `${ROOT}.data/redis`));
    }
    if (stop.signal.aborted) return 0; // a Ctrl-C while Redis started: no PostgreSQL after it
    if (await redisPersists(redisUrl ?? DEFAULT_REDIS_URL) === false) {
      say(
        yellow(
          "redis: this server keeps nothing on disk (no snapshots, no append-only file): if it restarts, " +
            "the engine's books and wallets start over while PostgreSQL keeps the ledger. Fine for a try-out; " +
            "otherwise enable appendonly, or stop it and let up start its own with data in .data/redis",
        ),
      );
    }

    // PostgreSQL
    const envDb = Deno.env.get("DATABASE_URL");
    const databaseUrl = envDb ?? DEFAULT_DATABASE_URL;
    if (envDb) {
      if (!await postgresAnswers(envDb)) {
        throw new UpError(
          `PostgreSQL at DATABASE_URL=${
            maskUrlPassword(envDb)
          } does not answer: start it or fix DATABASE_URL`,
        );
      }
      say(`postgres: using ${maskUrlPassword(envDb)}`);
    } else if (await postgresAnswers(DEFAULT_DATABASE_URL)) {
      say(`postgres: using the server on 127.0.0.1:5432 (database kalency)`);
    } else if (values["no-infra"]) {
      throw new UpError("No PostgreSQL answers on 127.0.0.1:5432: start one or set DATABASE_URL");
    } else {
      say("postgres: none answering; starting one");
      const pg = await startPostgres(DEFAULT_DATABASE_URL, `${ROOT}.data/postgres`, {
        onMoved: (dir, why) => say(yellow(`postgres: ${why}; keeping its data in ${dir} instead`)),
      });
      started.push(pg);
      say(`postgres: started on 127.0.0.1:5432 with data in ${pg.dataDir}`);
    }
    if (stop.signal.aborted) return 0;
    const refusal = await postgresRefusal(databaseUrl);
    if (refusal) {
      throw new UpError(
        `PostgreSQL at ${
          maskUrlPassword(databaseUrl)
        } refused the login (${refusal}): set DATABASE_URL with a user and password it accepts, or allow trust authentication for local connections`,
      );
    }

    say("applying migrations...");
    try {
      await migrate(databaseUrl);
    } catch (e) {
      throw new UpError(
        `Migrations failed: ${
          (e as Error).message.split("\n").slice(-2).join(" ")
        }. Fix the database or run deno task db:reset`,
      );
    }
    say("building web islands...");
    await buildWeb(deno);
    if (stop.signal.aborted) return 0;

    const env: Record<string, string> = {
      ...Deno.env.toObject(),
      REDIS_URL: redisUrl ?? DEFAULT_REDIS_URL,
      DATABASE_URL: databaseUrl,
      LOG_FORMAT: Deno.env.get("LOG_FORMAT") ?? (tty ? "pretty" : "json"),
      NO_COLOR: tty ? "" : "1",
    };
    for (const s of specs) env[s.portVar] = String(s.port);
    const secrets = await localSecrets();
    env.KALENCY_JWT_SECRET ??= secrets.jwtSecret;
    env.KALENCY_API_KEY_SECRET ??= secrets.apiKeySecret;
    const adminFromEnv = Boolean(env.KALENCY_ADMIN_USERNAME);
    env.KALENCY_ADMIN_USERNAME ??= "admin";
    env.KALENCY_ADMIN_PASSWORD ??= secrets.adminPassword;
    const gatewayPort = portFromEnv("KALENCY_GATEWAY_PORT");
    env.KALENCY_GATEWAY_URL ??= `http://127.0.0.1:${gatewayPort}`;
    const width = Math.max(...specs.map((s) => s.name.length));
    // a service that keeps exiting while the system starts fails the start at once
    const failing = new Set<string>();
    const startFailed = new AbortController();
    let running = false;
    specs.forEach((s, i) =>
      children.push(supervise(s, i, width, {
        deno,
        cwd: ROOT,
        env,
        colour: tty,
        log: say,
        onRepeatedFailure: (name) => {
          if (running) return; // once up, it is retried every 30 s and said so in the log
          failing.add(name);
          startFailed.abort();
        },
      }))
    );

    const health = await Promise.all(
      specs.map(async (s) => ({
        s,
        ok: await waitHealthy(
          host === "0.0.0.0" ? "127.0.0.1" : host,
          s.port,
          90_000,
          AbortSignal.any([stop.signal, startFailed.signal]),
        ),
      })),
    );
    if (stop.signal.aborted) {
      await shutdown();
      return 0;
    }
    if (failing.size) {
      throw new UpError(`${[...failing].join(", ")} kept exiting while starting (see the logs above)`);
    }
    const bad = health.filter((h) => !h.ok).map((h) => h.s.name);
    if (bad.length) throw new UpError(`Not healthy after 90 s: ${bad.join(", ")} (see their logs above)`);
    running = true;
    const url = (port: number, path = "") => `http://${shownHost}:${port}${path}`;
    const denoOnPath = await which("deno");
    const denoCmd = denoCommand(denoOnPath, deno, Deno.cwd());
    const lines = [
      "",
      bold(green("Kalency is up.")),
      `  web          ${url(portFromEnv("KALENCY_WEB_PORT"))}`,
      `  API          ${url(gatewayPort, "/v1")}   (try ${url(gatewayPort, "/v1/markets")})`,
      `  OpenAPI      ${url(gatewayPort, "/v1/openapi.json")}   docs ${url(gatewayPort, "/docs")}`,
      `  WebSocket    ws://${shownHost}:${gatewayPort}/v1/ws`,
      `  metrics      ${specs.map((s) => url(s.port, "/metrics")).join("\n               ")}`,
      `  streams      ${toolsHint(env, "tail executions", denoCmd)}`,
      ...(denoOnPath ? [] : [
        `  Deno         not on your PATH; to type \`deno\` yourself: export PATH="${dirname(deno)}:$PATH"`,
      ]),
      adminFromEnv
        ? `  admin        log in as ${env.KALENCY_ADMIN_USERNAME} (KALENCY_ADMIN_USERNAME)`
        : `  admin        log in as admin / ${env.KALENCY_ADMIN_PASSWORD}   (kept in .data/secrets.json)`,
      "Press Ctrl-C to stop everything.",
      "",
    ];
    console.log(lines.join("\n"));
    await new Promise<void>((resolve) =>
      stop.signal.addEventListener("abort", () => resolve(), { once: true })
    );
    await shutdown();
    return 0;
  } catch (e) {
    const msg = e instanceof UpError ? e.message : `Unexpected failure: ${(e as Error).stack ?? e}`;
    console.error(red(`up: ${msg}`));
    await shutdown();
    return 1;
  } finally {
    if (stopping) {
      await stopping;
      await stopServers(); // a server whose start ended after the shutdown had stopped the others
    }
    for (const signal of SIGNALS) Deno.removeSignalListener(signal, onSignal);
  }
}

Deno.exit(await main());
