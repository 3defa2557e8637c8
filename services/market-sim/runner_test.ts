import assert from "node:assert/strict";
import {
  DEFAULT_MARKETS,
  EngineCommand,
  keys,
  type SimControl,
  streamKey,
  STREAMS,
  Tick,
  type WalletView,
} from "@lib/contracts";
import { createLogger, type Logger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { connectRedis, decodeEntry, publish, type RawEntry, readRange, type RedisClient } from "@lib/redis";
import { redisFixture, waitFor } from "@lib/testing";
import { BotAccountError, type BotAccounts } from "./bot_accounts.ts";
import { DEFAULT_POPULATION } from "./bots.ts";
import { REPLY_STREAM, type RunnerOptions, type SimHandle, startMarketSim } from "./runner.ts";
import { Simulator } from "./simulator.ts";
import { statusKey } from "./sim_store.ts";

const quiet = createLogger("market-sim-test", { level: "error", write: () => {} });

/** Accounts as signup would give them: a user id per bot name. */
const ACCOUNTS: BotAccounts = { userIdFor: (username) => Promise.resolve(`u-${username}`) };

const OPTIONS: RunnerOptions = {
  seed: "runner-test",
  intervalMs: 50,
  profile: "normal",
  bots: DEFAULT_POPULATION,
  startRunning: true,
  statusEveryMs: 200,
  walletEveryMs: 200,
  marketsEveryMs: 300,
  cancelWaitMs: 300,
  signupPace: { burst: 100, intervalMs: 1 }, // the pacing has a test of its own
};

async function seedEngineReadModels(redis: RedisClient, prefix: string): Promise<void> {
  for (const m of DEFAULT_MARKETS) await redis.hSet(keys.markets(prefix), m.symbol, JSON.stringify(m));
  const names = [
    "bot-mm-1",
    "bot-mm-2",
    "bot-noise-1",
    "bot-noise-2",
    "bot-noise-3",
    "bot-noise-4",
    "bot-mom-1",
    "bot-mom-2",
  ];
  for (const n of names) {
    const wallet: WalletView = {
      userId: `u-${n}`,
      balances: [
        { asset: "USD", free: "100000", locked: "0" },
        { asset: "BTC", free: "2", locked: "0" },
        { asset: "ETH", free: "30", locked: "0" },
      ],
      updatedAt: Date.now(),
    };
    await redis.hSet(keys.wallets(prefix), wallet.userId, JSON.stringify(wallet));
  }
}

async function entries(redis: RedisClient, key: string, from = "-"): Promise<RawEntry[]> {
  return await readRange(redis, key, from);
}

async function status(redis: RedisClient, prefix: string) {
  const text = await redis.get(statusKey(prefix));
  return text ? JSON.parse(text) : undefined;
}

async function withSim(
  fn: (
    ctx: {
      redis: RedisClient;
      prefix: string;
      start: (
        o?: Partial<RunnerOptions>,
        a?: BotAccounts,
        log?: Logger,
      ) => Promise<{ handle: SimHandle; registry: Registry }>;
    },
  ) => Promise<void>,
): Promise<void> {
  await using fx = await redisFixture("sim");
  const clients: RedisClient[] = [];
  const handles: SimHandle[] = [];
  try {
    await fn({
      redis: fx.redis,
      prefix: fx.prefix,
      async start(over = {}, accounts = ACCOUNTS, log = quiet) {
        const controlReader = await connectRedis(fx.url);
        const replyReader = await connectRedis(fx.url);
        clients.push(controlReader, replyReader);
        const registry = new Registry();
        const handle = await startMarketSim(
          { redis: fx.redis, controlReader, replyReader, prefix: fx.prefix, accounts, log, registry },
          { ...OPTIONS, ...over },
        );
        handles.push(handle);
        return { handle, registry };
      },
    });
  } finally {
    for (const h of handles) await h.stop();
    for (const c of clients) await c.close();
  }
}

Deno.test("market-sim publishes ticks and bot orders on the streams and keeps its status", async () => {
  await withSim(async ({ redis, prefix, start }) => {
    await seedEngineReadModels(redis, prefix);
    const { handle } = await start();
    const ordersKey = streamKey(prefix, STREAMS.orders);
    await waitFor(async () => (await redis.xLen(ordersKey)) > 30, { what: "bot orders", timeoutMs: 15_000 });
    const ticks = (await entries(redis, streamKey(prefix, STREAMS.ticks))).map((e) => {
      const d = decodeEntry(STREAMS.ticks, e);
      assert.ok(d.ok, d.ok ? "" : d.reason);
      return d.value as Tick;
    });
    assert.deepEqual(new Set(ticks.map((t) => t.symbol)), new Set(["BTC-ETH", "BTC-USD", "ETH-USD"]));
    const commands = (await entries(redis, ordersKey)).map((e) => {
      const d = decodeEntry(STREAMS.orders, e);
      assert.ok(d.ok, d.ok ? "" : d.reason);
      return d.value as EngineCommand;
    });
    assert.ok(commands.every((c) => c.replyTo === streamKey(prefix, REPLY_STREAM)));
    assert.ok(commands.every((c) => (c as { userId: string }).userId.startsWith("u-bot-")));
    assert.ok(commands.some((c) => c.type === "place"));
    assert.ok(commands.every((c) => c.cmdId.startsWith(`${handle.runTag}.`)));
    const st = await status(redis, prefix);
    assert.equal(st.running, true);
    assert.equal(st.profile, "normal");
    assert.equal(st.symbols.length, 3);
    assert.equal(st.bots.marketMakers.count, 2);
    assert.equal(st.bots.marketMakers.active, 2);
    assert.equal(typeof st.symbols[0].price, "string");
  });
});

Deno.test("market-sim applies controls from the stream and replays them after a restart", async () => {
  await withSim(async ({ redis, prefix, start }) => {
    await seedEngineReadModels(redis, prefix);
    const { handle } = await start();
    const control = (c: SimControl) => publish(redis, prefix, STREAMS.simControl, c);
    await control({ action: "pause", symbol: "BTC-USD", ts: Date.now() });
    await control({ action: "volatility", profile: "volatile", symbol: "ETH-USD", ts: Date.now() });
    await control({ action: "ensure", symbol: "sol-usd", ts: Date.now() });
    await control({ action: "bots", kind: "momentumTraders", count: 0, ts: Date.now() });
    // the status may be written between two of the controls: wait for the last one's effect too
    await waitFor(async () => {
      const s = await status(redis, prefix);
      return s?.symbols.length === 4 && s.bots.momentumTraders.count === 0;
    }, { what: "ensure and bots in status" });
    const st = await status(redis, prefix);
    const by = (s: string) => st.symbols.find((x: { symbol: string }) => x.symbol === s);
    assert.equal(by("BTC-USD").paused, true);
    assert.equal(by("ETH-USD").profile, "volatile");
    // not listed by the engine: the price of the first symbol quoted in USD (BTC-USD, paused)
    const ratio = Number(by("SOL-USD").price) / Number(by("BTC-USD").price);
    assert.ok(Math.abs(ratio - 1) < 0.01, `SOL-USD ${by("SOL-USD").price}, BTC-USD ${by("BTC-USD").price}`);
    assert.equal(st.bots.momentumTraders.count, 0);

    // no BTC-USD ticks once paused
    const tickKey = streamKey(prefix, STREAMS.ticks);
    const mark = (await redis.xRevRange(tickKey, "+", "-", { COUNT: 1 }))![0].id;
    await new Promise((r) => setTimeout(r, 300));
    const after = (await entries(redis, tickKey, `(${mark}`)).map((e) =>
      JSON.parse(e.message.payload).symbol
    );
    assert.ok(after.length > 0 && !after.includes("BTC-USD"));

    await control({ action: "stop", ts: Date.now() });
    await waitFor(async () => (await status(redis, prefix))?.running === false, { what: "stop" });
    await handle.stop();

    // a new process rebuilds the same control state from the stream
    const again = await start();
    assert.equal(again.handle.runTag, "r2");
    const st2 = await status(redis, prefix);
    assert.equal(st2.running, false);
    assert.equal(st2.symbols.length, 4);
    assert.equal(st2.symbols.find((x: { symbol: string }) => x.symbol === "BTC-USD").paused, true);
    assert.equal(st2.symbols.find((x: { symbol: string }) => x.symbol === "ETH-USD").profile, "volatile");
  });
});

Deno.test("market-sim counts engine rejections by bot kind and reason", async () => {
  await withSim(async ({ redis, prefix, start }) => {
    await seedEngineReadModels(redis, prefix);
    const { registry } = await start();
    const ordersKey = streamKey(prefix, STREAMS.orders);
    const place = await waitFor(async () => {
      for (const e of await entries(redis, ordersKey)) {
        const c = JSON.parse(e.message.payload);
        if (c.type === "place" && c.userId === "u-bot-mm-1") return c;
      }
      return undefined;
    }, { what: "a market maker order", timeoutMs: 15_000 });
    await publish(redis, prefix, REPLY_STREAM, {
      ok: false,
      cmdId: place.cmdId,
      reason: "INSUFFICIENT_BALANCE",
      message: "USD balance 1 is below the 65 this order needs",
    });
    await waitFor(
      () =>
        registry.render().includes(
          'kalency_sim_rejections_total{kind="marketMakers",reason="INSUFFICIENT_BALANCE"} 1',
        ),
      {
        what: "rejection metric",
      },
    );
  });
});

Deno.test("market-sim keeps ticking while the gateway is down and signs bots up once it answers", async () => {
  await withSim(async ({ redis, prefix, start }) => {
    await seedEngineReadModels(redis, prefix);
    let up = false;
    const flaky: BotAccounts = {
      userIdFor: (u) => up ? Promise.resolve(`u-${u}`) : Promise.reject(new TypeError("connection refused")),
    };
    // while the gateway may still be starting, that is no warning; after the grace it is
    const lines: { level: string; msg: string }[] = [];
    const log = createLogger("market-sim-test", { level: "info", write: (l) => lines.push(JSON.parse(l)) });
    const { handle, registry } = await start(
      {
        signupBackoffMaxMs: 200,
        signupGraceMs: 700,
        signupPace: { burst: 10, intervalMs: 10 },
      },
      flaky,
      log,
    );
    const tickKey = streamKey(prefix, STREAMS.ticks);
    await waitFor(async () => (await redis.xLen(tickKey)) > 20, { what: "ticks" });
    assert.equal(await redis.xLen(streamKey(prefix, STREAMS.orders)), 0);
    assert.equal(handle.accounts().pending, 8);
    assert.match(handle.accounts().lastError ?? "", /connection refused/);
    assert.ok(registry.render().includes("kalency_sim_signup_failures_total"));
    const failures = () => lines.filter((l) => /waiting for the gateway|bot sign-up failed/.test(l.msg));
    assert.equal(failures()[0].level, "info");
    await waitFor(() => failures().some((l) => l.level === "warn"), { what: "a warning after the grace" });
    up = true;
    await waitFor(() => handle.accounts().pending === 0, { what: "sign-ups", timeoutMs: 5_000 });
    await waitFor(async () => (await redis.xLen(streamKey(prefix, STREAMS.orders))) > 0, {
      what: "bot orders",
    });
  });
});

Deno.test("market-sim paces its bots' sign-ups: a burst, then one per interval", async () => {
  await withSim(async ({ redis, prefix, start }) => {
    await seedEngineReadModels(redis, prefix);
    const at: number[] = [];
    const timed: BotAccounts = {
      userIdFor: (u) => {
        at.push(performance.now());
        return Promise.resolve(`u-${u}`);
      },
    };
    // two requests' worth per bot (a sign-up, then a log-in when the name exists)
    const { handle } = await start({ signupPace: { burst: 4, intervalMs: 100 } }, timed);
    await waitFor(() => handle.accounts().pending === 0, { what: "sign-ups", timeoutMs: 5_000 });
    assert.equal(at.length, 8);
    assert.ok(at[1] - at[0] < 100, "the burst covers two bots at once");
    // then one bot (two requests' tokens) per 200 ms, counted from the burst: a late bot does not
    // push the later ones back (the pace is a rate), so gaps are checked against the schedule
    for (let i = 2; i < at.length; i++) {
      assert.ok(
        at[i] - at[1] >= (i - 1) * 200 - 20,
        `bot ${i + 1} came ${at[i] - at[1]} ms after the burst; the pace allows it after ${(i - 1) * 200}`,
      );
    }
  });
});

Deno.test("market-sim: a bot whose name someone else took holds up only itself", async () => {
  await withSim(async ({ redis, prefix, start }) => {
    await seedEngineReadModels(redis, prefix);
    const squatted: BotAccounts = {
      userIdFor: (u) =>
        u === "bot-mm-1"
          ? Promise.reject(
            new BotAccountError("bot bot-mm-1 can neither sign up (409) nor log in (401)", 401),
          )
          : Promise.resolve(`u-${u}`),
    };
    const { handle } = await start({ signupBackoffMaxMs: 200 }, squatted);
    await waitFor(() => handle.accounts().pending === 1, {
      what: "every other bot signed up",
      timeoutMs: 5_000,
    });
    assert.match(handle.accounts().lastError ?? "", /bot-mm-1 can neither sign up/);
  });
});

Deno.test("market-sim cancels every bot's orders when it stops", async () => {
  await withSim(async ({ redis, prefix, start }) => {
    await seedEngineReadModels(redis, prefix);
    const { handle } = await start();
    const ordersKey = streamKey(prefix, STREAMS.orders);
    await waitFor(async () => (await redis.xLen(ordersKey)) > 30, { what: "bot orders", timeoutMs: 15_000 });
    await handle.stop();
    const last = await entries(redis, ordersKey);
    const tail = last.slice(-8).map((e) => JSON.parse(e.message.payload));
    assert.ok(tail.every((c) => c.type === "cancelAll"), JSON.stringify(tail.map((c) => c.type)));
    assert.equal((await status(redis, prefix)).running, false);
  });
});

Deno.test("market-sim keeps its event loop free while a step throws, and goes on once it stops", async () => {
  await withSim(async ({ redis, prefix, start }) => {
    await seedEngineReadModels(redis, prefix);
    const { registry } = await start();
    const ticksKey = streamKey(prefix, STREAMS.ticks);
    await waitFor(async () => (await redis.xLen(ticksKey)) > 0, { what: "first ticks", timeoutMs: 10_000 });
    const step = Simulator.prototype.step;
    Simulator.prototype.step = () => {
      throw new Error("a broken step");
    };
    try {
      // a timer still fires on time: the loop yields between failed attempts
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(performance.now() - t0 < 2_000, `a 300 ms timer took ${performance.now() - t0} ms`);
      const errors = registry.render().match(/sim_loop_errors_total (\d+)/);
      assert.ok(errors && Number(errors[1]) >= 1, "loop errors are counted");
      // about one attempt per interval (50 ms), not thousands
      assert.ok(Number(errors[1]) < 40, `${errors[1]} attempts in 300 ms`);
    } finally {
      Simulator.prototype.step = step;
    }
    const before = await redis.xLen(ticksKey);
    await waitFor(async () => (await redis.xLen(ticksKey)) > before, {
      what: "ticks again",
      timeoutMs: 10_000,
    });
  });
});
