import assert from "node:assert/strict";
import { candleKeys, readCandles, selectCandles } from "@lib/candles";
import { type Candle, streamKey, STREAMS, TIMEFRAMES } from "@lib/contracts";
import { sampleExecutions } from "@lib/ledger";
import { groupLag, publishBatch } from "@lib/redis";
import { dbFixture, freePort, redisFixture, TEST_REDIS_URL, waitFor } from "@lib/testing";
import { aggregateTrades } from "./aggregator.ts";
import { CANDLE_GROUP } from "./run.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

function spawnAggregator(env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: { ...env, LOG_LEVEL: "warn", LOG_FORMAT: "json" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

function comparable(cs: Candle[]) {
  return cs.map(({ closed: _c, ...rest }) => rest);
}

Deno.test("candle aggregator: after kill -9 mid-stream it resumes and equals a from-scratch aggregation", async () => {
  await using fx = await redisFixture("candles-kill");
  await using db = await dbFixture();
  const T0 = Date.UTC(2026, 0, 1);
  const flow = sampleExecutions({ count: 12_000, maxGapMs: 60, start: T0 }); // ~6 minutes of market time
  const env = {
    REDIS_URL: TEST_REDIS_URL,
    DATABASE_URL: db.url,
    KALENCY_PREFIX: fx.prefix,
    KALENCY_CANDLES_PORT: String(freePort()),
    KALENCY_CANDLES_BATCH: "100",
    KALENCY_CANDLES_BLOCK_MS: "100",
    KALENCY_CANDLES_FLUSH_MS: "50",
  };
  const seqKey = candleKeys.tradeSeqs(fx.prefix);
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow.slice(0, 3000));

  const first = spawnAggregator(env);
  // keep publishing while it runs, so the kill lands in the middle of the stream
  const publishing = (async () => {
    for (let i = 3000; i < flow.length; i += 500) {
      await publishBatch(fx.redis, fx.prefix, STREAMS.executions, flow.slice(i, i + 500));
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  await waitFor(async () => Number(await fx.redis.hGet(seqKey, "BTC-USD") ?? 0) >= 1500, {
    timeoutMs: 30_000,
    what: "the first process to apply some trades",
  });
  first.kill("SIGKILL");
  const status1 = await first.status;
  assert.equal(status1.signal, "SIGKILL");
  await first.stderr.cancel();
  await publishing;
  const appliedAtKill = Number(await fx.redis.hGet(seqKey, "BTC-USD"));
  assert.ok(appliedAtKill < flow.filter((e) => e.symbol === "BTC-USD").length, "killed before the end");

  const second = spawnAggregator(env);
  try {
    const key = streamKey(fx.prefix, STREAMS.executions);
    await waitFor(async () => {
      const l = await groupLag(fx.redis, key, CANDLE_GROUP);
      return l.lag === 0 && l.pending === 0 && (await fx.redis.lLen(candleKeys.outbox(fx.prefix))) === 0;
    }, { timeoutMs: 60_000, what: "the restarted process to catch up and flush" });
    const health = await fetch(`http://127.0.0.1:${env.KALENCY_CANDLES_PORT}/healthz`);
    const h = await health.json();
    assert.equal(health.status, 200);
    assert.equal(h.status, "ok", JSON.stringify(h));
    assert.deepEqual(h.lag.executions, { lag: 0, pending: 0 });
    const metrics = await (await fetch(`http://127.0.0.1:${env.KALENCY_CANDLES_PORT}/metrics`)).text();
    for (
      const name of [
        "candles_batches_total",
        "candles_batch_size_bucket",
        "candles_write_seconds_bucket",
        "consumer_lag",
      ]
    ) {
      assert.match(metrics, new RegExp(`^kalency_${name}`, "m"), name);
    }

    const expected = aggregateTrades(flow);
    const now = flow.at(-1)!.ts + 86_400_000;
    for (const symbol of ["BTC-USD", "ETH-USD"]) {
      for (const tf of TIMEFRAMES) {
        const want = expected.filter((c) => c.symbol === symbol && c.timeframe === tf);
        const got = await readCandles(fx.redis, db.sql, fx.prefix, {
          symbol,
          tf,
          from: T0,
          fill: false,
          limit: 1000,
          now,
        });
        assert.deepEqual(comparable(got), comparable(want.slice(0, 1000)), `${symbol} ${tf}`);
      }
      const inPg = await selectCandles(db.sql, { symbol, timeframe: "1m", source: "trade" }, {
        lo: 0,
        hi: now,
        limit: 1000,
      });
      const closed1m = expected.filter((c) => c.symbol === symbol && c.timeframe === "1m").slice(0, -1);
      assert.deepEqual(comparable(inPg), comparable(closed1m), `${symbol} 1m in PostgreSQL`);
    }
  } finally {
    second.kill("SIGTERM");
    const out = await second.output();
    assert.equal(out.code, 0, `clean exit on SIGTERM; stderr: ${new TextDecoder().decode(out.stderr)}`);
  }
});
