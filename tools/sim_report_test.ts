import assert from "node:assert/strict";
import { type BookDelta, type Execution, keys, STREAMS } from "@lib/contracts";
import { publishBatch } from "@lib/redis";
import { dbFixture, redisFixture } from "@lib/testing";
import { createPriceState, stepPrice } from "../services/market-sim/price_model.ts";
import { PROFILES } from "../services/market-sim/profiles.ts";
import { createRng } from "../services/market-sim/rng.ts";
import { buildSimReport, formatSimReport, runSimReport } from "./sim_report.ts";

// trades are written now, with times in the last hours, as a live run would have written them
const END = Date.now();

/**
 * Trades as market makers around the volatile model would print them: every three seconds a trade at
 * the model price plus or minus a one-tick half spread (bid-ask bounce), prices on the 0.01 tick.
 */
function modelTrades(minutes: number): Execution[] {
  const rng = createRng("sim-report", "trades");
  const state = createPriceState(100, PROFILES.volatile, 0.01);
  const out: Execution[] = [];
  const start = END - minutes * 60_000;
  for (let ms = 0, seq = 1; ms < minutes * 60_000; ms += 250) {
    stepPrice(state, PROFILES.volatile, rng, 0.25);
    if (ms % 3000 !== 0) continue;
    const buy = rng.chance(0.5);
    const ticks = Math.max(1, Math.round(Math.exp(state.logPrice) * 100) + (buy ? 1 : -1));
    out.push(execution(seq++, (ticks / 100).toFixed(2), start + ms, buy));
  }
  return out;
}

function execution(seq: number, price: string, ts: number, buy = true): Execution {
  return {
    tradeId: `T-${seq}`,
    symbol: "SIM-USD",
    seq,
    price,
    qty: "1",
    quoteQty: price,
    makerOrderId: `m${seq}`,
    makerUserId: "u-mm",
    takerOrderId: `t${seq}`,
    takerUserId: "u-noise",
    takerSide: buy ? "BUY" : "SELL",
    buyerUserId: buy ? "u-noise" : "u-mm",
    sellerUserId: buy ? "u-mm" : "u-noise",
    buyOrderId: buy ? `t${seq}` : `m${seq}`,
    sellOrderId: buy ? `m${seq}` : `t${seq}`,
    makerFee: "0",
    takerFee: "0",
    feeAsset: "USD",
    ts,
  };
}

Deno.test("runSimReport() finds the stylized facts of the volatile model in its trades", async () => {
  await using fx = await redisFixture("simreport");
  const minutes = 1200;
  const trades = modelTrades(minutes);
  for (let i = 0; i < trades.length; i += 5000) {
    await publishBatch(fx.redis, fx.prefix, STREAMS.executions, trades.slice(i, i + 5000));
  }
  // another symbol's trades are ignored
  await publishBatch(fx.redis, fx.prefix, STREAMS.executions, [{
    ...execution(1, "5", END - 1000),
    symbol: "BTC-USD",
  }]);
  const deltas: BookDelta[] = [
    { symbol: "SIM-USD", seq: 1, bids: [["99.99", "1"]], asks: [["100.01", "1"]], ts: END - 120_000 },
    { symbol: "SIM-USD", seq: 2, bids: [["99.98", "1"]], asks: [], ts: END - 30_000 },
  ];
  await publishBatch(fx.redis, fx.prefix, STREAMS.book, deltas);
  const lines: string[] = [];
  const r = await runSimReport({
    redisUrl: fx.url,
    prefix: fx.prefix,
    symbol: "SIM-USD",
    minutes,
    untilMs: END,
    write: (l) => lines.push(l),
  });
  assert.equal(r.source, "stream");
  assert.equal(r.trades, trades.length);
  assert.ok(Math.abs(r.tradesPerSecond - 1 / 3) < 0.01);
  assert.ok(r.returns >= minutes - 1 && r.returns <= minutes, `returns ${r.returns}`);
  const detail = JSON.stringify(r);
  assert.ok(r.excessKurtosis! > 1, detail);
  assert.ok(Math.abs(r.acf1!) < 0.1, detail);
  assert.ok(r.absAcf[0]! > 0.1, detail);
  assert.deepEqual(r.pass, { excessKurtosis: true, acf1: true, absAcf1: true });
  // the book warmed up before the window: 2 bps (99.99/100.01) for 90 s, then 3 bps for 30 s
  assert.ok(r.quotedSpreadBps! > 2 && r.quotedSpreadBps! < 3, detail);
  assert.ok(r.rollSpreadBps! > 0, detail);
  assert.match(
    lines[0],
    /Stylized facts of SIM-USD over the last 1200 min: \d+ trades from stream:executions/,
  );
  assert.ok(lines.some((l) => l.startsWith("excess kurtosis") && l.includes("ok ")));
});

Deno.test("runSimReport() falls back to the ledger when the stream does not cover the window", async () => {
  await using fx = await redisFixture("simreport");
  await using db = await dbFixture();
  const now = Date.now();
  for (let i = 0; i < 30; i++) {
    const ts = new Date(now - (30 - i) * 20_000);
    await db.sql`
      INSERT INTO trade_ledger (trade_id, symbol, buy_user_id, sell_user_id, price, qty, executed_at, seq,
        quote_qty, base_asset, quote_asset, buy_order_id, sell_order_id, taker_side, fee_asset, stream_id)
      VALUES (${`T-${i}`}, 'BTC-USD', 'b', 's', ${String(65000 + i)}, '0.01', ${ts}, ${i + 1},
        ${String((65000 + i) / 100)}, 'BTC', 'USD', ${`b${i}`}, ${`s${i}`}, 'BUY', 'USD', ${`${i}-0`})`;
  }
  const lines: string[] = [];
  const r = await runSimReport({
    redisUrl: fx.url,
    databaseUrl: db.url,
    prefix: fx.prefix,
    symbol: "BTC-USD",
    minutes: 15,
    json: true,
    write: (l) => lines.push(l),
  });
  assert.equal(r.source, "ledger");
  assert.equal(r.trades, 30);
  assert.deepEqual(JSON.parse(lines[0]), r);
  assert.ok(r.notes.some((n) => n.includes("noisy")));
});

Deno.test("buildSimReport() reports an empty window without failing", () => {
  const r = buildSimReport("X-USD", 0, 60_000, "none", [], []);
  assert.equal(r.trades, 0);
  assert.equal(r.excessKurtosis, null);
  assert.deepEqual(r.pass, { excessKurtosis: false, acf1: false, absAcf1: false });
  assert.ok(formatSimReport(r).some((l) => l.includes("no trades")));
});

Deno.test("buildSimReport() counts trades per second over the time the trades cover", () => {
  // an hour asked for, ten minutes of trades at one a second
  const end = 3_600_000;
  const trades = Array.from(
    { length: 600 },
    (_, i) => ({ ts: end - 600_000 + i * 1000, price: 100 + (i % 3) }),
  );
  const r = buildSimReport("X-USD", 0, end, "stream", trades, []);
  assert.ok(Math.abs(r.tradesPerSecond - 1) < 0.01, String(r.tradesPerSecond));
  assert.ok(r.notes.some((n) => n.includes("the trades start later than the window")), r.notes.join("; "));
});

Deno.test("buildSimReport() takes returns of whole minutes only; the trades of the minute under way still count", () => {
  // three whole minutes and half of a fourth, a trade every ten seconds
  const end = 210_000;
  const trades = Array.from({ length: 21 }, (_, i) => ({ ts: i * 10_000, price: 100 + i }));
  const r = buildSimReport("X-USD", 0, end, "stream", trades, []);
  assert.equal(r.returns, 2, "the closes of minutes 0, 1 and 2: the half minute gives no return");
  assert.equal(r.trades, 21);
});

Deno.test("runSimReport() refuses a symbol the engine does not list, naming the markets", async () => {
  await using fx = await redisFixture("simreport");
  await fx.redis.hSet(keys.markets(fx.prefix), "BTC-USD", "{}");
  await fx.redis.hSet(keys.markets(fx.prefix), "ETH-USD", "{}");
  await assert.rejects(
    runSimReport({ redisUrl: fx.url, prefix: fx.prefix, symbol: "FOO-BAR", minutes: 5, write: () => {} }),
    /symbol FOO-BAR is not listed; markets: BTC-USD, ETH-USD/,
  );
});
