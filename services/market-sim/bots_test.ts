import assert from "node:assert/strict";
import { DEFAULT_MARKETS, type Side } from "@lib/contracts";
import {
  type BotSymbolState,
  decideMarketMaker,
  decideMomentumTrader,
  decideNoiseTrader,
  DEFAULT_BOT_PARAMS,
  Funds,
  halfSpreadTicks,
  type Intent,
  type MarketContext,
} from "./bots.ts";
import { marketOf, toUnits } from "./market.ts";
import { createRng } from "./rng.ts";

const BTC = marketOf(DEFAULT_MARKETS[0]); // BTC-USD, tick 0.01, step 0.0001

function ctx(over: Partial<MarketContext> = {}): MarketContext {
  return {
    market: BTC,
    step: 1,
    dtSec: 0.25,
    priceTicks: 6_500_000, // 65000.00
    halfSpreadTicks: 1_000, // 10.00
    activity: 1,
    momentum: 0,
    unitLots: 16,
    orderAllowance: 150,
    ...over,
  };
}

function funds(usd: string, btc: string): Funds {
  const f = new Funds();
  f.load([
    { asset: "USD", free: toUnits(usd), locked: 0n },
    { asset: "BTC", free: toUnits(btc), locked: 0n },
  ]);
  return f;
}

function state(seed = "s"): BotSymbolState {
  return { rng: createRng(seed, "bot"), resting: [] };
}

function ids() {
  let n = 0;
  return { next: () => ({ seq: ++n, clientOrderId: `b.r1.${n}` }) };
}

const places = (intents: Intent[]) => intents.filter((i) => i.type === "place");
const sides = (intents: Intent[], side: Side) => places(intents).filter((i) => i.side === side);

/** Always acts (a huge rate makes the Poisson draw non-zero). */
const ALWAYS = 1e6;

Deno.test("decideMarketMaker() quotes both sides around the model price", () => {
  const d = decideMarketMaker(state(), funds("100000", "2"), ctx(), ALWAYS, DEFAULT_BOT_PARAMS, ids());
  assert.deepEqual(d.skips, []);
  const bids = sides(d.intents, "BUY").map((i) => i.ticks!);
  const asks = sides(d.intents, "SELL").map((i) => i.ticks!);
  assert.equal(bids.length, DEFAULT_BOT_PARAMS.makerLevels);
  assert.equal(asks.length, DEFAULT_BOT_PARAMS.makerLevels);
  assert.deepEqual(bids, [6_499_000, 6_498_000]);
  assert.deepEqual(asks, [6_501_000, 6_502_000]);
  assert.ok(places(d.intents).every((i) => i.orderType === "LIMIT" && i.lots >= 1));
});

Deno.test("decideMarketMaker() cancels its old quotes before re-quoting a moved price", () => {
  const s = state();
  const f = funds("100000", "2");
  decideMarketMaker(s, f, ctx(), ALWAYS, DEFAULT_BOT_PARAMS, ids());
  const again = decideMarketMaker(
    s,
    f,
    ctx({ step: 2, priceTicks: 6_500_500 }),
    ALWAYS,
    DEFAULT_BOT_PARAMS,
    ids(),
  );
  assert.equal(again.intents[0].type, "cancelAll");
  assert.equal(places(again.intents).length, 4);
  // the same quotes while fresh: nothing to send
  const same = decideMarketMaker(
    s,
    f,
    ctx({ step: 3, priceTicks: 6_500_500 }),
    ALWAYS,
    DEFAULT_BOT_PARAMS,
    ids(),
  );
  assert.deepEqual(same.intents, []);
});

Deno.test("decideMarketMaker() shifts its quotes against its inventory", () => {
  const f = funds("100000", "2");
  f.give("BTC", toUnits("0.2")); // long 0.2 BTC = 124 typical orders over the reference, past the skew range
  const d = decideMarketMaker(state(), f, ctx(), ALWAYS, DEFAULT_BOT_PARAMS, ids());
  const bestAsk = Math.min(...sides(d.intents, "SELL").map((i) => i.ticks!));
  const bestBid = Math.max(...sides(d.intents, "BUY").map((i) => i.ticks!));
  // full skew: the mid of its quotes sits one half spread below the model price
  assert.equal((bestAsk + bestBid) / 2, 6_500_000 - 1_000);
});

Deno.test("halfSpreadTicks() widens with volatility", () => {
  const calm = halfSpreadTicks(6_500_000, 0.00005, DEFAULT_BOT_PARAMS);
  const wild = halfSpreadTicks(6_500_000, 0.001, DEFAULT_BOT_PARAMS);
  assert.equal(calm, Math.round(6_500_000 * 1.5 / 10_000)); // the floor
  assert.ok(wild > 5 * calm);
  assert.equal(halfSpreadTicks(3, 0.00001, DEFAULT_BOT_PARAMS), 1);
});

Deno.test("decideMarketMaker() skips the side it cannot fund and says why", () => {
  const d = decideMarketMaker(state(), funds("100000", "0"), ctx(), ALWAYS, DEFAULT_BOT_PARAMS, ids());
  assert.deepEqual(d.skips, ["INSUFFICIENT_BASE"]);
  assert.equal(sides(d.intents, "SELL").length, 0);
  assert.equal(sides(d.intents, "BUY").length, 2);
});

Deno.test("decideNoiseTrader() flips to the side it can fund, and skips when it can fund neither", () => {
  const params = { ...DEFAULT_BOT_PARAMS, noiseMarketProb: 1 };
  const rich = decideNoiseTrader(state("n"), funds("0", "2"), ctx(), 40, params, ids());
  assert.ok(places(rich.intents).length > 0);
  // taker orders are IOC limits at most four half spreads through the price, never MARKET orders
  assert.ok(
    places(rich.intents).every((i) =>
      i.side === "SELL" && i.orderType === "LIMIT" && i.timeInForce === "IOC" && i.ticks === 6_500_000 - 4_000
    ),
    JSON.stringify(rich.intents),
  );
  const broke = decideNoiseTrader(state("n"), funds("0", "0"), ctx(), 40, params, ids());
  assert.deepEqual(places(broke.intents), []);
  assert.ok(broke.skips.length > 0);
});

Deno.test("decideNoiseTrader() cancels its limit orders when their time to live ends", () => {
  const s = state("ttl");
  const f = funds("100000", "2");
  const params = { ...DEFAULT_BOT_PARAMS, noiseMarketProb: 0, noiseTtlMinSec: 1, noiseTtlMaxSec: 1 };
  const first = decideNoiseTrader(s, f, ctx({ step: 1 }), 40, params, ids());
  const placed = places(first.intents).map((i) => i.clientOrderId);
  assert.ok(placed.length > 0);
  assert.equal(s.resting.length, placed.length);
  const later = decideNoiseTrader(s, f, ctx({ step: 10 }), 0, params, ids());
  assert.deepEqual(
    later.intents.filter((i) => i.type === "cancel").map((i) =>
      (i as { clientOrderId: string }).clientOrderId
    ),
    placed,
  );
  assert.equal(s.resting.length, 0);
});

Deno.test("decideMomentumTrader() follows the trend and ignores weak signals", () => {
  const up = decideMomentumTrader(
    state("m"),
    funds("100000", "2"),
    ctx({ momentum: 3 }),
    ALWAYS,
    DEFAULT_BOT_PARAMS,
    ids(),
  );
  assert.equal(sides(up.intents, "BUY").length, 1);
  assert.deepEqual(
    places(up.intents).map((i) => [i.orderType, i.timeInForce, i.ticks]),
    [["LIMIT", "IOC", 6_500_000 + 4_000]],
    "a protected taker order: at most four half spreads above the price",
  );
  const down = decideMomentumTrader(
    state("m"),
    funds("100000", "2"),
    ctx({ momentum: -3 }),
    ALWAYS,
    DEFAULT_BOT_PARAMS,
    ids(),
  );
  assert.equal(sides(down.intents, "SELL").length, 1);
  const weak = decideMomentumTrader(
    state("m"),
    funds("100000", "2"),
    ctx({ momentum: 0.2 }),
    ALWAYS,
    DEFAULT_BOT_PARAMS,
    ids(),
  );
  assert.deepEqual(weak.intents, []);
});

Deno.test("decisions are functions of state, price and seed", () => {
  const run = () => {
    const s = state("same");
    const f = funds("100000", "2");
    const out: Intent[] = [];
    for (let step = 1; step < 200; step++) {
      const c = ctx({ step, priceTicks: 6_500_000 + step * 37 });
      out.push(...decideNoiseTrader(s, f, c, 2, DEFAULT_BOT_PARAMS, ids()).intents);
      out.push(...decideMarketMaker(s, f, c, 2, DEFAULT_BOT_PARAMS, ids()).intents);
    }
    return out;
  };
  assert.deepEqual(run(), run());
});

Deno.test("bots keep within their share of the open-order budget", () => {
  const tight = ctx({ orderAllowance: 2 });
  const mm = decideMarketMaker(state(), funds("100000", "2"), tight, ALWAYS, DEFAULT_BOT_PARAMS, ids());
  assert.equal(sides(mm.intents, "BUY").length, 1);
  assert.equal(sides(mm.intents, "SELL").length, 1);
  const s = state("budget");
  const f = funds("100000", "2");
  const params = { ...DEFAULT_BOT_PARAMS, noiseMarketProb: 0 };
  for (let step = 1; step < 50; step++) {
    decideNoiseTrader(s, f, ctx({ step, orderAllowance: 2 }), 40, params, ids());
  }
  assert.ok(s.resting.length <= 2, `${s.resting.length} resting`);
});
