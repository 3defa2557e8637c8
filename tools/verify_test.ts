import assert from "node:assert/strict";
import { fromScaled, toScaled } from "@lib/candles";
import { keys, streamKey, STREAMS, type WalletEvent, type WalletView } from "@lib/contracts";
import { postingsForExecution, postingsForWalletEvent, sampleExecutions } from "@lib/ledger";
import { groupLag, publishBatch } from "@lib/redis";
import { dbFixture, freePort, redisFixture, TEST_REDIS_URL, waitFor } from "@lib/testing";
import { formatVerifyReport, runVerify } from "./verify.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const USERS = ["alice", "bob", "carol", "dave"];
const T0 = Date.UTC(2026, 0, 1);

interface Service {
  process: Deno.ChildProcess;
  output: () => string;
}

/**
 * Starts a service on a fresh port and waits for its /healthz; a start that dies at once (a port
 * taken by a parallel test between freePort() and the bind) is tried again on another port.
 */
async function spawn(path: string, portVar: string, env: Record<string, string>): Promise<Service> {
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}${path}`],
      env: { ...env, [portVar]: String(port), LOG_LEVEL: "warn", LOG_FORMAT: "json" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let text = "";
    const decoder = new TextDecoder();
    for (const stream of [process.stdout, process.stderr]) {
      void (async () => {
        for await (const c of stream) text += decoder.decode(c, { stream: true });
      })();
    }
    let exited = false;
    process.status.then(() => exited = true);
    const healthy = await waitFor(async () => {
      if (exited) return "exited";
      const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      await r?.body?.cancel();
      return r ? "up" : undefined;
    }, { timeoutMs: 30_000, what: `${path} to answer /healthz` });
    if (healthy === "up") return { process, output: () => text };
    if (attempt >= 3) throw new Error(`${path} exited at start:\n${text}`);
  }
}

/** What the engine's wallets would hold after this funding and these trades (all free). */
function engineWallets(flow: ReturnType<typeof sampleExecutions>, funding: WalletEvent[]): WalletView[] {
  const totals = new Map<string, Map<string, bigint>>();
  const postings = [
    ...funding.flatMap((w, i) => postingsForWalletEvent(w, `${i}-0`)),
    ...flow.flatMap((e) => postingsForExecution(e, "kalency-fees")),
  ];
  for (const p of postings) {
    if (p.account.startsWith("#")) continue;
    if (!totals.has(p.account)) totals.set(p.account, new Map());
    const m = totals.get(p.account)!;
    m.set(p.asset, (m.get(p.asset) ?? 0n) + toScaled(p.amount));
  }
  return [...totals].map(([userId, m]) => ({
    userId,
    balances: [...m].map(([asset, v]) => ({ asset, free: fromScaled(v), locked: "0" })),
    updatedAt: T0,
  }));
}

Deno.test("runVerify() finds nothing in a consistent system and names every difference in a broken one", async () => {
  await using fx = await redisFixture("verify");
  await using db = await dbFixture();
  const env = {
    REDIS_URL: TEST_REDIS_URL,
    DATABASE_URL: db.url,
    KALENCY_PREFIX: fx.prefix,
    KALENCY_LEDGER_BLOCK_MS: "100",
    KALENCY_CANDLES_BLOCK_MS: "100",
    KALENCY_CANDLES_FLUSH_MS: "50",
  };
  const funding: WalletEvent[] = USERS.flatMap((userId) =>
    [["USD", "10000000"], ["BTC", "100"], ["ETH", "10000"]].map(([asset, amount]) => ({
      userId,
      asset,
      freeDelta: amount,
      lockedDelta: "0",
      free: amount,
      locked: "0",
      reason: "OPEN_ACCOUNT" as const,
      ts: T0,
    }))
  );
  const flow = sampleExecutions({
    count: 600,
    start: T0 + 1000,
    maxGapMs: 400,
    makerFeeBps: 2,
    takerFeeBps: 10,
  });
  await publishBatch(fx.redis, fx.prefix, STREAMS.wallet, funding);
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow);
  // JSON that is not an execution: the consumers dead-letter it, so it is no trade the ledger lacks
  await fx.redis.xAdd(streamKey(fx.prefix, STREAMS.executions), "*", {
    type: "execution",
    payload: JSON.stringify({ tradeId: "not-a-trade" }),
  });
  const wallets = engineWallets(flow, funding);
  await fx.redis.hSet(
    keys.wallets(fx.prefix),
    Object.fromEntries(wallets.map((w) => [w.userId, JSON.stringify(w)])),
  );

  const ledger = await spawn("services/ledger-writer/main.ts", "KALENCY_LEDGER_PORT", env);
  const candles = await spawn("services/candle-aggregator/main.ts", "KALENCY_CANDLES_PORT", env);
  try {
    const key = streamKey(fx.prefix, STREAMS.executions);
    await waitFor(async () => {
      for (const g of ["ledger-writer", "candle-aggregator"]) {
        const l = await groupLag(fx.redis, key, g);
        if (l.lag !== 0 || l.pending !== 0) return false;
      }
      const w = await groupLag(fx.redis, streamKey(fx.prefix, STREAMS.wallet), "ledger-writer");
      return w.lag === 0 && w.pending === 0;
    }, { timeoutMs: 30_000, what: "both consumers to catch up" });

    const options = { redisUrl: TEST_REDIS_URL, databaseUrl: db.url, prefix: fx.prefix };
    const good = await runVerify(options);
    assert.equal(good.ok, true, formatVerifyReport(good));
    assert.deepEqual(good.checks.map((c) => [c.check, c.ok]), [
      ["trades", true],
      ["postings", true],
      ["balances", true],
      ["candles", true],
    ]);
    assert.equal(good.checks[0].compared, flow.length);

    // break it: the engine holds a different balance, and the ledger lost one trade
    const alice = wallets.find((w) => w.userId === "alice")!;
    const usd = alice.balances.find((b) => b.asset === "USD")!;
    const broken = { ...alice, balances: [{ ...usd, free: fromScaled(toScaled(usd.free) + 1n) }] };
    await fx.redis.hSet(
      keys.wallets(fx.prefix),
      "alice",
      JSON.stringify({
        ...broken,
        balances: [...alice.balances.filter((b) => b.asset !== "USD"), ...broken.balances],
      }),
    );
    const lost = flow[123];
    await db.sql`DELETE FROM trade_ledger WHERE trade_id = ${lost.tradeId}`;

    const bad = await runVerify(options);
    assert.equal(bad.ok, false);
    const where = (check: string) => bad.differences.filter((d) => d.check === check).map((d) => d.where);
    assert.deepEqual(where("trades"), [
      `trade ${lost.tradeId} (${lost.symbol}, stream entry ${await entryIdOf(lost.tradeId)})`,
    ]);
    assert.deepEqual(where("postings"), []);
    assert.ok(where("balances").includes("user alice asset USD"), where("balances").join("; "));
    for (const u of [lost.buyerUserId, lost.sellerUserId]) {
      assert.ok(where("balances").some((w) => w.startsWith(`user ${u} asset`)), u);
    }
    const minute = new Date(Math.floor(lost.ts / 60_000) * 60_000).toISOString();
    assert.deepEqual(where("candles"), [`${lost.symbol} 1m ${minute}`]);
    const text = formatVerifyReport(bad);
    assert.match(text, /DIFFERENCES FOUND/);
    assert.match(text, new RegExp(`trade ${lost.tradeId}`));

    // the command-line form exits non-zero
    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}tools/verify.ts`],
      env: { REDIS_URL: TEST_REDIS_URL, DATABASE_URL: db.url, KALENCY_PREFIX: fx.prefix },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(cli.code, 1);
    assert.match(new TextDecoder().decode(cli.stdout), /FAIL trades/);

    // a wallet that does not parse (a negative balance) is named with its field and value, once
    const negative = { ...alice, balances: [{ ...usd, free: "-67.805" }] };
    await fx.redis.hSet(keys.wallets(fx.prefix), "alice", JSON.stringify(negative));
    const unreadable = (await runVerify(options)).differences.filter((d) => d.check === "balances");
    const ofAlice = unreadable.filter((d) => d.where.includes("alice"));
    assert.equal(ofAlice.length, 1, JSON.stringify(ofAlice));
    assert.equal(ofAlice[0].where, "wallet of alice");
    assert.match(ofAlice[0].actual, /^balances\.0\.free: .*\(-67\.805\)$/);
  } finally {
    for (const service of [ledger, candles]) {
      try {
        service.process.kill("SIGTERM");
      } catch { /* exited already: the status below says how */ }
      assert.equal((await service.process.status).code, 0, service.output());
    }
  }

  async function entryIdOf(tradeId: string): Promise<string> {
    const all = (await fx.redis.xRange(streamKey(fx.prefix, STREAMS.executions), "-", "+")) ?? [];
    return all.find((e) => e.message.payload.includes(`"tradeId":"${tradeId}"`))!.id;
  }
});

Deno.test("runVerify() on a running system under steady trading finds no false differences", async () => {
  await using fx = await redisFixture("verify");
  await using db = await dbFixture();
  const env = {
    REDIS_URL: TEST_REDIS_URL,
    DATABASE_URL: db.url,
    KALENCY_PREFIX: fx.prefix,
    KALENCY_CANDLES_FLUSH_MS: "50",
  };
  const services = [
    await spawn("services/matching-engine/main.ts", "KALENCY_ENGINE_PORT", env),
    await spawn("services/ledger-writer/main.ts", "KALENCY_LEDGER_PORT", env),
    await spawn("services/candle-aggregator/main.ts", "KALENCY_CANDLES_PORT", env),
  ];
  const stop = new AbortController();
  const trading = (async () => {
    for (let i = 0; !stop.signal.aborted; i++) {
      const [maker, taker] = i % 2 ? ["alice", "bob"] : ["bob", "alice"];
      await publishBatch(fx.redis, fx.prefix, STREAMS.orders, [
        {
          type: "place",
          cmdId: `m${i}`,
          userId: maker,
          symbol: "BTC-USD",
          side: "SELL",
          orderType: "LIMIT",
          price: "65000",
          qty: "0.001",
        },
        {
          type: "place",
          cmdId: `t${i}`,
          userId: taker,
          symbol: "BTC-USD",
          side: "BUY",
          orderType: "MARKET",
          qty: "0.001",
        },
        {
          type: "place",
          cmdId: `r${i}`,
          userId: "carol",
          symbol: "ETH-USD",
          side: "BUY",
          orderType: "LIMIT",
          price: "3000",
          qty: "0.01",
        },
      ]);
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  try {
    await waitFor(async () => (await fx.redis.xLen(streamKey(fx.prefix, STREAMS.executions))) > 20, {
      what: "trades",
      timeoutMs: 20_000,
    });
    const options = { redisUrl: TEST_REDIS_URL, databaseUrl: db.url, prefix: fx.prefix };
    for (let run = 0; run < 4; run++) {
      const report = await runVerify(options);
      assert.equal(report.ok, true, formatVerifyReport(report));
    }
  } finally {
    stop.abort();
    await trading;
    for (const service of services) {
      try {
        service.process.kill("SIGTERM");
      } catch { /* exited already */ }
      assert.equal((await service.process.status).code, 0, service.output());
    }
  }
});
