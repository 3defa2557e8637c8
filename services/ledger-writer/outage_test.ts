/**
 * Database outage under load: the ledger writer runs against a PostgreSQL instance of this test's
 * own, which is stopped for KALENCY_TEST_DB_OUTAGE_MS (default 30 s, as the issue asks) while trades
 * keep arriving, then started again. Every trade must end up in the ledger exactly once.
 */
import assert from "node:assert/strict";
import { streamKey, STREAMS } from "@lib/contracts";
import { connectDb, debianPostgresBinDir, migrate } from "@lib/db";
import { sampleExecutions } from "@lib/ledger";
import { groupLag, publishBatch } from "@lib/redis";
import { freePort, redisFixture, TEST_REDIS_URL, waitFor } from "@lib/testing";
import { LEDGER_GROUP } from "./run.ts";

const OUTAGE_MS = Number(Deno.env.get("KALENCY_TEST_DB_OUTAGE_MS") ?? 30_000);
/** PostgreSQL's server binaries: KALENCY_TEST_PG_BIN, else the newest Debian installs. */
const PG_BIN = Deno.env.get("KALENCY_TEST_PG_BIN") ?? debianPostgresBinDir() ?? "(none)";
const MAIN = new URL("./main.ts", import.meta.url).pathname;

function hasPostgresBinaries(): boolean {
  try {
    Deno.statSync(`${PG_BIN}/pg_ctl`);
    return true;
  } catch {
    return false;
  }
}

/** A throwaway PostgreSQL server in a temp dir (run as the postgres user when we are root). */
class TempPostgres {
  #asRoot = Deno.uid() === 0;
  constructor(readonly dir: string, readonly port: number) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/kalency`;
  }

  async #run(bin: string, args: string[]): Promise<void> {
    const cmd = this.#asRoot
      ? new Deno.Command("runuser", { args: ["-u", "postgres", "--", `${PG_BIN}/${bin}`, ...args] })
      : new Deno.Command(`${PG_BIN}/${bin}`, { args });
    const out = await cmd.output();
    if (!out.success) {
      throw new Error(
        `${bin} failed: ${new TextDecoder().decode(out.stderr)}${new TextDecoder().decode(out.stdout)}`,
      );
    }
  }

  static async create(): Promise<TempPostgres> {
    const dir = await Deno.makeTempDir({ prefix: "kalency-pg-" });
    const pg = new TempPostgres(dir, freePort());
    if (pg.#asRoot) await new Deno.Command("chown", { args: ["-R", "postgres:postgres", dir] }).output();
    await pg.#run("initdb", ["-D", `${dir}/data`, "-A", "trust", "-U", "postgres", "--no-sync"]);
    return pg;
  }

  start(): Promise<void> {
    return this.#run("pg_ctl", [
      "start",
      "-w",
      "-D",
      `${this.dir}/data`,
      "-l",
      `${this.dir}/log`,
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    ]);
  }

  stop(): Promise<void> {
    return this.#run("pg_ctl", ["stop", "-w", "-m", "fast", "-D", `${this.dir}/data`]);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

async function health(port: number): Promise<{ code: number; body: { status: string; reasons: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { code: res.status, body: await res.json() };
}

const T_START = Date.now();
function mark(what: string) {
  if (Deno.env.get("KALENCY_TEST_VERBOSE")) {
    console.error(`${((Date.now() - T_START) / 1000).toFixed(1)} s: ${what}`);
  }
}

Deno.test({
  name: "ledger writer: a PostgreSQL outage under load loses and duplicates nothing",
  ignore: !hasPostgresBinaries(),
  async fn() {
    await using fx = await redisFixture("ledger-outage");
    const pg = await TempPostgres.create();
    let writer: Deno.ChildProcess | undefined;
    try {
      await pg.start();
      mark("postgres started");
      await migrate(pg.url);
      mark("migrated");
      const port = freePort();
      writer = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN],
        env: {
          REDIS_URL: TEST_REDIS_URL,
          DATABASE_URL: pg.url,
          KALENCY_PREFIX: fx.prefix,
          KALENCY_LEDGER_PORT: String(port),
          KALENCY_LEDGER_BLOCK_MS: "200",
          KALENCY_LEDGER_RETRY_MS: "100",
          KALENCY_LEDGER_RETRY_MAX_MS: "1000",
          LOG_LEVEL: "error",
          LOG_FORMAT: "json",
        },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      await waitFor(async () => (await health(port)).body.status === "ok", {
        timeoutMs: 20_000,
        what: "writer ready",
      });
      mark("writer ready");

      // trades keep coming the whole time: 100 every 50 ms
      const flow = sampleExecutions({
        count: 200_000,
        symbols: ["BTC-USD", "ETH-USD", "BTC-ETH"],
        takerFeeBps: 10,
      });
      let published = 0;
      const stopPublishing = new AbortController();
      const publisher = (async () => {
        while (!stopPublishing.signal.aborted && published < flow.length) {
          await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow.slice(published, published + 100));
          published += 100;
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      await new Promise((r) => setTimeout(r, 2000));
      await pg.stop();
      const stoppedAt = Date.now();
      mark("postgres stopped");
      const down = await waitFor(async () => {
        const h = await health(port);
        return h.code === 503 && h.body.status === "unavailable" ? h : undefined;
      }, { timeoutMs: 10_000, what: "/healthz to report the database" });
      assert.ok(down.body.reasons.some((r) => r.startsWith("postgres")), JSON.stringify(down.body.reasons));
      mark("healthz says unavailable");
      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /kalency_retries_total\{stream="executions"\} [1-9]/);
      const lagDuring = Number(
        /kalency_consumer_lag\{[^}]*stream="executions"[^}]*\} (\d+)/.exec(metrics)?.[1],
      );
      assert.ok(lagDuring > 0, "lag is reported while the database is down");

      await pg.start();
      mark("postgres started again");
      await new Promise((r) => setTimeout(r, 1000));
      stopPublishing.abort();
      await publisher;

      const key = streamKey(fx.prefix, STREAMS.executions);
      await waitFor(async () => {
        const l = await groupLag(fx.redis, key, LEDGER_GROUP);
        return l.lag === 0 && l.pending === 0;
      }, { timeoutMs: 60_000, what: "the writer to catch up" });
      mark(`caught up (${published} trades published)`);
      await waitFor(async () => (await health(port)).body.status === "ok", {
        timeoutMs: 10_000,
        what: "healthy again",
      });

      const sql = connectDb(pg.url, { max: 1 });
      try {
        const [{ n, distinct }] = await sql<{ n: number; distinct: number }[]>`
          SELECT count(*)::int AS n, count(DISTINCT trade_id)::int AS distinct FROM trade_ledger`;
        assert.equal(n, published, "every published trade is in the ledger");
        assert.equal(distinct, published, "exactly once");
        const expectedIds = new Set(flow.slice(0, published).map((e) => e.tradeId));
        const ids = await sql<{ trade_id: string }[]>`SELECT trade_id FROM trade_ledger`;
        assert.ok(ids.every((r) => expectedIds.has(r.trade_id)));
        const unbalanced =
          await sql`SELECT asset FROM ledger_postings GROUP BY asset HAVING sum(amount) <> 0`;
        assert.equal(unbalanced.length, 0, "postings sum to zero per asset");
      } finally {
        await sql.end({ timeout: 5 });
      }
    } finally {
      if (writer) {
        try {
          writer.kill("SIGTERM");
        } catch { /* it already ended: the exit code below says how */ }
        const out = await writer.output();
        assert.equal(out.code, 0, `clean exit: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
      }
      await pg.destroy();
    }
  },
});
