/**
 * The exactly-once test: the real engine process is killed with SIGKILL at 20 random moments under a
 * steady command load and restarted each time; afterwards every output stream and read model must be
 * exactly what one uninterrupted engine would have produced from the same command stream.
 */
import assert from "node:assert/strict";
import { loadConfig } from "@lib/config";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { parseUnits } from "@lib/money";
import { encodeEntry, expandEntries, type RawEntry, type RedisClient } from "@lib/redis";
import { freePort, redisFixture, waitFor } from "@lib/testing";
import { commandFlow } from "./command_flow.ts";
import { EngineConfig, engineSettingsFrom } from "./config.ts";
import { createEngine, defaultEngineSettings } from "./engine.ts";
import type { CommandOutput } from "./engine_api.ts";
import { intake } from "./intake.ts";
import { replyKey } from "./outputs.ts";
import { loadSnapshot } from "./snapshot_store.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const KILLS = 20;
const REPLIES = "replies:load";

function spawnEngine(env: Record<string, string>) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: { ...env, KALENCY_ENGINE_PORT: String(port) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const collect = (s: ReadableStream<Uint8Array>) =>
    s.pipeTo(new WritableStream({ write: (chunk) => void (output += decoder.decode(chunk)) }));
  const drained = Promise.all([collect(child.stdout), collect(child.stderr)]);
  return {
    child,
    /** Resolves once /healthz answers 200: recovered, and the loop runs. */
    async running(): Promise<void> {
      await waitFor(async () => {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        await r?.body?.cancel();
        return r?.status === 200;
      }, { timeoutMs: 30_000, what: "the engine to recover and run" });
    },
    async finish(): Promise<{ code: number; signal: string | null; output: string }> {
      const status = await child.status;
      await drained;
      return { code: status.code, signal: status.signal, output };
    },
  };
}

/** Writes the command flow at about `perSecond` until stopped; returns the last id written. */
function startLoad(redis: RedisClient, prefix: string, perSecond: number) {
  const key = streamKey(prefix, STREAMS.orders);
  const flow = commandFlow({
    seed: 11,
    users: 6,
    markets: defaultEngineSettings().markets,
    replyTo: REPLIES,
    userPrefix: "crash-",
  });
  let stopped = false;
  let last = "";
  let written = 0;
  const done = (async () => {
    const tick = 20;
    while (!stopped) {
      const multi = redis.multi();
      const n = Math.max(1, Math.round((perSecond * tick) / 1000));
      for (let i = 0; i < n; i++) multi.xAdd(key, "*", encodeEntry(STREAMS.orders, flow.next().value!));
      const ids = (await multi.execAsPipeline()) as unknown as string[];
      last = ids[ids.length - 1];
      written += n;
      await new Promise((r) => setTimeout(r, tick));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return { last, written };
    },
  };
}

async function streamPayloads(redis: RedisClient, key: string): Promise<unknown[]> {
  const out: unknown[] = [];
  let from = "-";
  for (;;) {
    const page = (await redis.xRange(key, from, "+", { COUNT: 5000 })) as RawEntry[];
    for (const e of expandEntries(page)) out.push(JSON.parse(e.message.payload));
    if (page.length < 5000) return out;
    from = `(${page[page.length - 1].id}`;
  }
}

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v));

Deno.test({
  name: "the engine process loses and duplicates nothing across 20 kill -9 under load",
  async fn() {
    await using fx = await redisFixture("crash");
    const { redis, prefix, url } = fx;
    const env: Record<string, string> = {
      REDIS_URL: url,
      KALENCY_PREFIX: prefix,
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
      KALENCY_ENGINE_BATCH: "200",
      KALENCY_ENGINE_BLOCK_MS: "100",
      // snapshots every few hundred ms, so kills land before, during and after snapshot writes
      KALENCY_SNAPSHOT_INTERVAL_MS: "300",
      KALENCY_SNAPSHOT_EVERY: "1500",
      KALENCY_REPLY_MAXLEN: "1000000",
      KALENCY_MAKER_FEE_BPS: "10",
      KALENCY_TAKER_FEE_BPS: "25",
    };
    const load = startLoad(redis, prefix, 800);
    let loaded: { last: string; written: number };
    // kills that came after the run had committed something, and after it had saved a snapshot
    let midRun = 0;
    let afterSnapshot = 0;
    try {
      for (let i = 0; i < KILLS; i++) {
        const before = await redis.get(keys.checkpoint(prefix));
        const snapshotBefore = await redis.get(keys.snapshot(prefix));
        const engine = spawnEngine(env);
        if (i % 5 === 0) {
          // while it starts or recovers
          await new Promise((r) => setTimeout(r, Math.random() * 1200));
        } else {
          // while it works: once it has committed, anywhere in the next second
          await waitFor(async () => (await redis.get(keys.checkpoint(prefix))) !== before, {
            timeoutMs: 15_000,
            intervalMs: 10,
            what: `run ${i} to commit`,
          });
          await new Promise((r) => setTimeout(r, Math.random() * 700));
        }
        engine.child.kill("SIGKILL");
        const end = await engine.finish();
        if ((await redis.get(keys.checkpoint(prefix))) !== before) midRun++;
        if ((await redis.get(keys.snapshot(prefix))) !== snapshotBefore) afterSnapshot++;
        assert.equal(end.signal, "SIGKILL", `run ${i} ended by itself:\n${end.output}`);
      }
    } finally {
      loaded = await load.stop();
    }
    const { last, written } = loaded;
    assert.ok(midRun >= KILLS / 2, `only ${midRun} of ${KILLS} kills hit a running engine`);
    assert.ok(afterSnapshot >= 2, `only ${afterSnapshot} runs saved a snapshot before being killed`);
    console.log(`kills: ${KILLS}, ${midRun} mid-run, ${afterSnapshot} after a snapshot; ${written} commands`);

    // a last, clean run catches up and stops on SIGTERM with a final snapshot
    const engine = spawnEngine(env);
    try {
      // the checkpoint may equal `last` already (the previous run caught up before its kill): wait
      // until this process has recovered and runs, so the SIGTERM below stops a running engine (one
      // stopped while it recovers exits cleanly too, but saves no final snapshot)
      await engine.running();
      await waitFor(async () => (await redis.get(keys.checkpoint(prefix))) === last, {
        timeoutMs: 30_000,
        what: "the engine to catch up",
      });
    } finally {
      engine.child.kill("SIGTERM");
    }
    const end = await engine.finish();
    assert.equal(end.code, 0, `clean stop failed:\n${end.output}`);

    // the reference: one engine fed every command once, from scratch
    const config = loadConfig(EngineConfig, env);
    const settings = engineSettingsFrom(config, defaultEngineSettings());
    const reference = createEngine(settings);
    const entries = (await redis.xRange(streamKey(prefix, STREAMS.orders), "-", "+")) as RawEntry[];
    assert.equal(entries.length, written);
    const all: CommandOutput[] = [];
    for (const e of entries) {
      const r = intake(prefix, e);
      assert.ok(r.ok, "the load generator writes valid commands only");
      all.push(reference.apply(r.command, r.meta));
    }
    const changes = reference.takeChanges();

    // every output stream holds exactly the reference's outputs, in order: nothing lost, nothing twice
    const expected = {
      [STREAMS.executions.name]: all.flatMap((o) => o.executions),
      [STREAMS.orderEvents.name]: all.flatMap((o) => o.orderEvents),
      [STREAMS.wallet.name]: all.flatMap((o) => o.walletEvents),
      [STREAMS.book.name]: all.flatMap((o) => o.bookDeltas),
      [REPLIES]: all.filter((o) => o.replyTo !== undefined).map((o) => o.reply),
    };
    for (const [name, list] of Object.entries(expected)) {
      const live = await streamPayloads(redis, streamKey(prefix, name));
      assert.equal(live.length, list.length, `${name}: ${live.length} entries, expected ${list.length}`);
      assert.deepEqual(live, plain(list), name);
    }
    assert.equal(replyKey(prefix, REPLIES), streamKey(prefix, REPLIES));
    const tradeIds = expected[STREAMS.executions.name].map((e) => (e as { tradeId: string }).tradeId);
    assert.ok(tradeIds.length > 100, `only ${tradeIds.length} trades: the load should trade`);
    assert.equal(new Set(tradeIds).size, tradeIds.length);
    assert.equal(await redis.xLen(`${streamKey(prefix, STREAMS.orders)}:dead`), 0);

    // the final state is the reference's state
    const saved = await loadSnapshot(redis, prefix);
    assert.equal(saved?.manifest.cursor, last);
    assert.deepEqual(saved?.snapshot.state, plain(reference.snapshot().state));

    // read models: wallets, open orders, order JSON, recent trades
    const wallets = await redis.hGetAll(keys.wallets(prefix));
    for (const w of changes.wallets) assert.deepEqual(JSON.parse(wallets[w.userId]), plain(w), w.userId);
    const open = new Map<string, string[]>();
    const closed = new Set(changes.closedOrderIds);
    for (let i = 0; i < changes.orders.length; i += 1000) {
      const chunk = changes.orders.slice(i, i + 1000);
      const live = await redis.mGet(chunk.map((o) => keys.order(prefix, o.orderId)));
      chunk.forEach((o, j) => assert.deepEqual(JSON.parse(live[j]!), plain(o), o.orderId));
    }
    for (const o of changes.orders) {
      if ((o.status === "ACCEPTED" || o.status === "PARTIALLY_FILLED") && !closed.has(o.orderId)) {
        open.set(o.userId, [...(open.get(o.userId) ?? []), o.orderId]);
      }
    }
    for (const w of changes.wallets) {
      const live = (await redis.zRange(keys.openOrders(prefix, w.userId), 0, -1)).sort();
      assert.deepEqual(live, (open.get(w.userId) ?? []).sort(), `open orders of ${w.userId}`);
    }
    for (const symbol of settings.markets.map((m) => m.symbol)) {
      const live = (await redis.lRange(keys.trades(prefix, symbol), 0, -1)).map((t) => JSON.parse(t));
      const mine = expected[STREAMS.executions.name].filter((e) =>
        (e as { symbol: string }).symbol === symbol
      );
      assert.deepEqual(live, plain(mine.reverse().slice(0, 1000)), `trades of ${symbol}`);
    }

    // money is conserved: per asset, everything held equals what the accounts were opened with
    const opened = changes.wallets.filter((w) => w.userId !== settings.feeAccount).length;
    for (const asset of settings.assets) {
      let held = 0n;
      for (const text of Object.values(wallets)) {
        const b = JSON.parse(text).balances.find((x: { asset: string }) => x.asset === asset.code);
        if (b) held += parseUnits(b.free, asset.decimals) + parseUnits(b.locked, asset.decimals);
      }
      const start = parseUnits(settings.startBalances[asset.code] ?? "0", asset.decimals);
      assert.equal(held, start * BigInt(opened), `${asset.code} is not conserved`);
    }
  },
});
