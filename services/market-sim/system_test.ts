/**
 * The simulator in the running system: the real matching engine and gateway processes on a test
 * prefix and database, and market-sim's own main.ts. Bots sign up through the gateway, trade with
 * each other through the engine, obey a control, and cancel their orders on SIGTERM.
 */
import assert from "node:assert/strict";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { publish } from "@lib/redis";
import { dbFixture, freePort, redisFixture, TEST_REDIS_URL, waitFor } from "@lib/testing";
import { runSimReport } from "../../tools/sim_report.ts";
import { derivedPassword, gatewayAccounts } from "./bot_accounts.ts";
import { statusKey } from "./sim_store.ts";

const ROOT = new URL("../../", import.meta.url);
const MAINS = {
  engine: new URL("services/matching-engine/main.ts", ROOT),
  gateway: new URL("services/gateway/main.ts", ROOT),
  sim: new URL("services/market-sim/main.ts", ROOT),
};
const available = Object.values(MAINS).every((u) => {
  try {
    return Deno.statSync(u).isFile;
  } catch {
    return false;
  }
});

interface Proc {
  url: string;
  stop(): Promise<number>;
}

async function spawn(main: URL, portVar: string, env: Record<string, string>, healthy = true): Promise<Proc> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main.pathname],
    env: {
      REDIS_URL: TEST_REDIS_URL,
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
      ...env,
      [portVar]: String(port),
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    return (await status).code;
  };
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`${main.pathname} exited early`);
      const r = await fetch(`${url}/healthz`).catch(() => undefined);
      await r?.body?.cancel();
      return r && (!healthy || r.ok);
    }, { timeoutMs: 45_000, intervalMs: 100, what: `${main.pathname} health` });
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, stop };
}

Deno.test({
  name: "market-sim trades through the real gateway and engine, obeys controls and cleans up on SIGTERM",
  ignore: !available,
  async fn() {
    await using fx = await redisFixture("simsys");
    await using db = await dbFixture();
    const prefix = fx.prefix;
    const procs: Proc[] = [];
    try {
      procs.push(await spawn(MAINS.engine, "KALENCY_ENGINE_PORT", { KALENCY_PREFIX: prefix }));
      const gateway = await spawn(MAINS.gateway, "KALENCY_GATEWAY_PORT", {
        KALENCY_PREFIX: prefix,
        DATABASE_URL: db.url,
        KALENCY_ENV: "test",
        KALENCY_JWT_SECRET: "sim-test-jwt-secret-0123456789",
        KALENCY_API_KEY_SECRET: "sim-test-api-key-secret-012345",
      }, false);
      procs.push(gateway);
      const sim = await spawn(MAINS.sim, "KALENCY_SIM_PORT", {
        KALENCY_PREFIX: prefix,
        KALENCY_GATEWAY_URL: gateway.url,
        KALENCY_SEED: "system-test",
        KALENCY_SIM_INTERVAL_MS: "100",
      });

      // bots trade with each other through the engine
      const executions = streamKey(prefix, STREAMS.executions);
      await waitFor(async () => (await fx.redis.xLen(executions)) >= 20, {
        what: "20 trades",
        timeoutMs: 45_000,
      });
      const status = JSON.parse((await fx.redis.get(statusKey(prefix)))!);
      assert.equal(status.running, true);
      assert.equal(status.bots.marketMakers.active, 2);
      assert.equal(status.bots.noiseTraders.active, 4);
      const metrics = await (await fetch(`${sim.url}/metrics`)).text();
      assert.match(metrics, /kalency_sim_orders_total\{kind="marketMakers",type="place"\} [1-9]/);
      assert.match(metrics, /kalency_sim_replies_total [1-9]/);

      // the bots are real users of the gateway
      const accounts = gatewayAccounts(gateway.url, (u) => derivedPassword("system-test", u));
      const mm1 = await accounts.userIdFor("bot-mm-1");
      assert.ok(await fx.redis.hGet(keys.wallets(prefix), mm1));

      // a control from the stream
      await publish(fx.redis, prefix, STREAMS.simControl, {
        action: "pause",
        symbol: "ETH-USD",
        ts: Date.now(),
      });
      await waitFor(async () => {
        const s = JSON.parse((await fx.redis.get(statusKey(prefix)))!);
        return s.symbols.find((x: { symbol: string }) => x.symbol === "ETH-USD")?.paused === true;
      }, { what: "ETH-USD paused" });

      // the realism report reads the run's trades
      const lines: string[] = [];
      const report = await runSimReport({
        redisUrl: fx.url,
        prefix,
        symbol: "BTC-USD",
        minutes: 5,
        write: (l) => lines.push(l),
      });
      assert.equal(report.source, "stream");
      assert.ok(report.trades > 0);
      assert.ok(report.quotedSpreadBps === null || report.quotedSpreadBps > 0);

      // SIGTERM: exit 0, and the engine cancels every resting order of the bots
      assert.equal(await sim.stop(), 0);
      await waitFor(async () => (await fx.redis.zCard(keys.openOrders(prefix, mm1))) === 0, {
        what: "bot-mm-1 without open orders",
        timeoutMs: 15_000,
      });
      assert.equal(JSON.parse((await fx.redis.get(statusKey(prefix)))!).running, false);
    } finally {
      for (const p of procs.reverse()) await p.stop();
    }
  },
});
