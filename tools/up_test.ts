/**
 * The walking skeleton, end to end: `deno task up` starts the real processes against the real Redis
 * and PostgreSQL; two users trade through the gateway; the trade shows up everywhere it should.
 */
import assert from "node:assert/strict";
import { connectDb, withDatabase } from "@lib/db";
import { parseUnits } from "@lib/money";
import { connectRedis } from "@lib/redis";
import { deletePrefix, freePort, TEST_DATABASE_URL, uniquePrefix, waitFor } from "@lib/testing";

const ROOT = new URL("../", import.meta.url).pathname;

interface Up {
  child: Deno.ChildProcess;
  output: () => string;
  ports: Record<string, number>;
  env: Record<string, string>;
}

function startUp(extraArgs: string[], env: Record<string, string>): Up {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/up.ts", ...extraArgs],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // a process group of its own, as a shell gives a foreground job: a Ctrl-C can be sent to it all
    detached: true,
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) text += decoder.decode(c, { stream: true });
  };
  void pump(child.stdout);
  void pump(child.stderr);
  return { child, output: () => text, ports: {}, env };
}

function skeletonEnv(): { env: Record<string, string>; ports: Record<string, number>; dbName: string } {
  const dbName = `kalency_up_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const ports = {
    KALENCY_WEB_PORT: freePort(),
    KALENCY_GATEWAY_PORT: freePort(),
    KALENCY_ENGINE_PORT: freePort(),
    KALENCY_SIM_PORT: freePort(),
    KALENCY_CANDLES_PORT: freePort(),
    KALENCY_LEDGER_PORT: freePort(),
  };
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    REDIS_URL: Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379",
    DATABASE_URL: withDatabase(TEST_DATABASE_URL, dbName),
    KALENCY_PREFIX: uniquePrefix("up"),
    KALENCY_JWT_SECRET: "skeleton-test-secret-skeleton-test-secret",
    KALENCY_RATE_LIMIT: "false",
    LOG_FORMAT: "json",
    LOG_LEVEL: "warn",
  };
  for (const [k, v] of Object.entries(ports)) env[k] = String(v);
  return { env, ports, dbName };
}

/** Waits for up's banner; fails with the end of its output. */
async function untilUp(up: Up): Promise<void> {
  await waitFor(() => up.output().includes("Kalency is up"), { timeoutMs: 120_000, what: "Kalency is up" })
    .catch((e) => {
      throw new Error(`${e.message}\n--- up output ---\n${up.output().slice(-4000)}`);
    });
}

async function json(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
}

Deno.test({
  name:
    "deno task up runs the whole system: a trade reaches the API, candles, ledger, wallets, web and tools",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { env, ports, dbName } = skeletonEnv();
    const up = startUp(["--no-sim"], env);
    const api = `http://127.0.0.1:${ports.KALENCY_GATEWAY_PORT}`;
    let tail: Deno.ChildProcess | undefined;
    try {
      await untilUp(up);

      const markets = await json(await fetch(`${api}/v1/markets`));
      const list = Array.isArray(markets) ? markets : markets.markets ?? markets.data;
      for (const s of ["BTC-USD", "ETH-USD", "BTC-ETH"]) assert.ok(list.some((m: any) => m.symbol === s), s);

      const signup = async (username: string) => {
        const r = await fetch(`${api}/v1/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username, password: "a long enough password" }),
        });
        const body = await json(r);
        assert.equal(r.status, 201, JSON.stringify(body));
        return body as { user: { userId: string }; accessToken: string };
      };
      const suffix = crypto.randomUUID().slice(0, 6);
      const seller = await signup(`seller-${suffix}`);
      const buyer = await signup(`buyer-${suffix}`);
      const auth = (t: string) => ({ "content-type": "application/json", authorization: `Bearer ${t}` });
      const wallet = async (t: string) => await json(await fetch(`${api}/v1/wallet`, { headers: auth(t) }));
      const before = { seller: await wallet(seller.accessToken), buyer: await wallet(buyer.accessToken) };
      assert.equal(parseUnits(before.buyer.available.USD, 6), 100_000_000000n);

      // the tools tail follows the executions stream; --since lets a tail that starts late (a loaded
      // machine) still print a trade made before it was reading
      tail = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "tools/cli.ts",
          "tail",
          "executions",
          "--since",
          "10m",
          "--prefix",
          env.KALENCY_PREFIX,
        ],
        cwd: ROOT,
        env,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let tailText = "";
      void (async () => {
        const d = new TextDecoder();
        for await (const c of tail!.stdout) tailText += d.decode(c, { stream: true });
      })();
      void tail.stderr.cancel();

      const place = async (t: string, body: Record<string, unknown>) => {
        const r = await fetch(`${api}/v1/orders`, {
          method: "POST",
          headers: auth(t),
          body: JSON.stringify(body),
        });
        const ack = await json(r);
        assert.equal(r.status, 201, JSON.stringify(ack));
        return ack;
      };
      const sell = await place(seller.accessToken, {
        symbol: "BTC-USD",
        side: "SELL",
        type: "LIMIT",
        price: "65000.00",
        qty: "0.0100",
      });
      assert.equal(sell.status, "ACCEPTED");
      const buy = await place(buyer.accessToken, {
        symbol: "BTC-USD",
        side: "BUY",
        type: "LIMIT",
        price: "65010",
        qty: 0.01,
      });
      assert.equal(buy.status, "FILLED");
      assert.equal(Number(buy.filledQty), 0.01);

      const trades = await waitFor(async () => {
        const t = await json(await fetch(`${api}/v1/markets/BTC-USD/trades`));
        return t.length ? t : undefined;
      }, { what: "the trade in /trades" });
      const trade = trades[trades.length - 1];
      assert.equal(parseUnits(trade.price, 2), 6_500_000n);
      assert.equal(trade.makerUserId, seller.user.userId);
      assert.equal(trade.takerUserId, buyer.user.userId);

      const candles = await waitFor(async () => {
        const c = await json(await fetch(`${api}/v1/markets/BTC-USD/candles?tf=1m`));
        return c.length ? c : undefined;
      }, { what: "a 1m candle" });
      assert.equal(parseUnits(candles[candles.length - 1].close, 2), 6_500_000n);

      const sql = connectDb(withDatabase(TEST_DATABASE_URL, dbName), { max: 1 });
      try {
        const rows = await waitFor(async () => {
          const r =
            await sql`SELECT buy_user_id, sell_user_id, price::text, qty::text FROM trade_ledger WHERE trade_id = ${trade.tradeId}`;
          return r.length ? r : undefined;
        }, { what: "the ledger row" });
        assert.equal(rows[0].buy_user_id, buyer.user.userId);
        assert.equal(rows[0].sell_user_id, seller.user.userId);
        assert.equal(Number(rows[0].price), 65000);
        assert.equal(Number(rows[0].qty), 0.01);
      } finally {
        await sql.end();
      }

      // both wallets changed by exactly the traded amounts (650 USD for 0.01 BTC, no fees by default)
      const after = { seller: await wallet(seller.accessToken), buyer: await wallet(buyer.accessToken) };
      const units = (s: string, d: number) =>
        BigInt(s.replace(".", "").padEnd(s.split(".")[0].length + d, "0"));
      const usd = (w: any) => units(w.available.USD, 6) + units(w.reserved?.USD ?? "0", 6);
      const btc = (w: any) => units(w.available.BTC, 8) + units(w.reserved?.BTC ?? "0", 8);
      assert.equal(usd(after.buyer) - usd(before.buyer), -650_000000n);
      assert.equal(btc(after.buyer) - btc(before.buyer), 1_000000n);
      assert.equal(usd(after.seller) - usd(before.seller), 650_000000n);
      assert.equal(btc(after.seller) - btc(before.seller), -1_000000n);

      // the web home page: server-rendered with the last price, and an island to hydrate
      const home = await waitFor(async () => {
        const html = await (await fetch(`http://127.0.0.1:${ports.KALENCY_WEB_PORT}/`)).text();
        return /65,?000(\.0+)?\b/.test(html) ? html : undefined;
      }, { what: "the last price on the home page", timeoutMs: 15_000 });
      assert.match(home, /data-island="/);

      await waitFor(() => tailText.includes(trade.tradeId), {
        what: "the execution in tools tail",
        timeoutMs: 30_000,
      });
    } finally {
      if (tail) {
        try {
          tail.kill("SIGINT");
        } catch { /* gone */ }
        await tail.status;
      }
      // Ctrl-C as a terminal sends it: to every process of the group, and `deno task` may pass it
      // on to up a moment later; one Ctrl-C must stop everything cleanly, nothing restarted
      Deno.kill(-up.child.pid, "SIGINT");
      await new Promise((r) => setTimeout(r, 30));
      try {
        up.child.kill("SIGINT");
      } catch { /* already gone */ }
      const status = await up.child.status;
      const admin = connectDb(TEST_DATABASE_URL, { max: 1 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
      await admin.end();
      const redis = await connectRedis(env.REDIS_URL);
      await deletePrefix(redis, env.KALENCY_PREFIX);
      await redis.close();
      assert.equal(status.code, 0, up.output().slice(-3000));
      assert.match(up.output(), /all stopped/);
      assert.doesNotMatch(up.output(), /restarting in/, "nothing is restarted while stopping");
    }
    // nothing left listening on the service ports
    for (const port of Object.values(ports)) {
      const l = Deno.listen({ hostname: "127.0.0.1", port });
      l.close();
    }
  },
});

Deno.test({
  name: "deno task up refuses a port in use with one clear line",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { env, ports } = skeletonEnv();
    const blocker = Deno.listen({ hostname: "127.0.0.1", port: ports.KALENCY_GATEWAY_PORT });
    try {
      const up = startUp([], env);
      const status = await up.child.status;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(status.code, 1);
      assert.match(up.output(), /Port \d+ \(gateway\) is already in use: .* set KALENCY_GATEWAY_PORT/);
      assert.doesNotMatch(up.output(), /at .*\.ts:\d+/); // no stack trace
    } finally {
      blocker.close();
    }
  },
});

Deno.test({
  name: "deno task up explains an unreachable Redis instead of crashing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { env } = skeletonEnv();
    env.REDIS_URL = `redis://127.0.0.1:${freePort()}`;
    const up = startUp([], env);
    const status = await up.child.status;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(status.code, 1);
    assert.match(up.output(), /Redis at REDIS_URL=.* does not answer: start it or fix REDIS_URL/);
  },
});

Deno.test({
  name: "deno task up stops with one clear line when a migration fails",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { env, dbName } = skeletonEnv();
    const admin = connectDb(TEST_DATABASE_URL, { max: 1 });
    await admin.unsafe(`CREATE DATABASE ${dbName}`);
    const db = connectDb(withDatabase(TEST_DATABASE_URL, dbName), { max: 1 });
    try {
      await db`CREATE TABLE users (something_else int)`; // the first migration cannot create users now
      const up = startUp(["--no-sim"], env);
      const status = await up.child.status;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(status.code, 1);
      assert.match(up.output(), /Migrations failed: .*users.*deno task db:reset/);
    } finally {
      await db.end();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  },
});

Deno.test({
  name: "deno task up explains a PostgreSQL that refuses the login",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { env } = skeletonEnv();
    const u = new URL(env.DATABASE_URL);
    u.username = "no_such_role_for_kalency";
    env.DATABASE_URL = u.toString();
    const up = startUp(["--no-sim"], env);
    const status = await up.child.status;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(status.code, 1);
    assert.match(
      up.output(),
      /PostgreSQL at .* refused the login .*: set DATABASE_URL with a user and password/,
    );
  },
});

Deno.test({
  name: "deno task up refuses an unknown option or service with the usage, before starting anything",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { env } = skeletonEnv();
    for (
      const [args, said] of [
        [["--bogus"], /up: Unknown option '--bogus'\nusage: deno task up/],
        [["--only", "gw"], /up: --only names unknown services: gw\nthe services are: matching-engine, /],
      ] as const
    ) {
      const up = startUp([...args], env);
      const status = await up.child.status;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(status.code, 2, up.output());
      assert.match(up.output(), said);
      assert.doesNotMatch(up.output(), /at .*\.ts:\d+/); // no stack trace
      assert.doesNotMatch(up.output(), /stopping services/); // nothing was started
    }
  },
});

Deno.test({
  name: "deno task up stops everything when its terminal closes (SIGHUP)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { env, ports, dbName } = skeletonEnv();
    env.LOG_LEVEL = "info"; // the services say when they stopped cleanly
    const up = startUp(["--no-sim", "--only", "matching-engine"], env);
    try {
      await untilUp(up);
      // a closed terminal signals its whole foreground process group: up and every service
      Deno.kill(-up.child.pid, "SIGHUP");
      const status = await up.child.status;
      assert.equal(status.code, 0, up.output().slice(-2000));
      assert.match(up.output(), /all stopped/);
      assert.match(up.output(), /matching-engine.*"msg":"stopped"/, "the engine stopped cleanly, not killed");
      const health = await fetch(`http://127.0.0.1:${ports.KALENCY_ENGINE_PORT}/healthz`).catch(() =>
        undefined
      );
      await health?.body?.cancel();
      assert.equal(health, undefined, "the engine is gone");
    } finally {
      try {
        up.child.kill("SIGKILL");
      } catch { /* exited */ }
      const redis = await connectRedis(env.REDIS_URL);
      await deletePrefix(redis, env.KALENCY_PREFIX);
      await redis.close();
      const admin = connectDb(TEST_DATABASE_URL, { max: 1 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  },
});
