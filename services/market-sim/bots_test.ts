import assert from "node:assert/strict";
import { DEFAULT_MARKETS, type Side } from "@lib/contracts";
import { sampleOrderAck } from "@lib/testing";
import { cancelAnswered, orderUpdated, placeAnswered } from "./account.ts";
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
import { baseAmount, marketOf, qtyText, quoteAmount, toUnits } from "./market.ts";
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
  return { rng: createRng(seed, "bot"), orders: [] };
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
  // long 0.2 BTC = 124 typical orders over the reference (the first read), past the skew range
  f.load([{ asset: "USD", free: toUnits("100000"), locked: 0n }, {
    asset: "BTC",
    free: toUnits("2.2"),
    locked: 0n,
  }]);
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
  assert.equal(s.orders.length, placed.length);
  const later = decideNoiseTrader(s, f, ctx({ step: 10 }), 0, params, ids());
  assert.deepEqual(
    later.intents.filter((i) => i.type === "cancel").map((i) =>
      (i as { clientOrderId: string }).clientOrderId
    ),
    placed,
  );
  // canceled once: the orders wait for the engine's answer, and are not canceled again meanwhile
  assert.ok(s.orders.every((o) => o.state === "canceling"));
  assert.deepEqual(decideNoiseTrader(s, f, ctx({ step: 11 }), 0, params, ids()).intents, []);
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
  assert.ok(s.orders.length <= 2, `${s.orders.length} resting`);
});

/** The engine's side of the bot's account for tests: answers places and moves the balances. */
function answerPlaces(s: BotSymbolState, f: Funds, intents: Intent[], usd: bigint, btc: bigint) {
  let lockedUsd = 0n;
  let lockedBtc = 0n;
  for (const i of places(intents)) {
    f.settle(i.seq);
    placeAnswered(
      s.orders,
      i.seq,
      sampleOrderAck({
        clientOrderId: i.clientOrderId,
        side: i.side,
        remainingQty: qtyText(BTC, i.lots),
      }),
      BTC,
      1,
    );
    if (i.side === "BUY") lockedUsd += quoteAmount(BTC, i.ticks!, i.lots);
    else lockedBtc += baseAmount(BTC, i.lots);
  }
  f.apply("USD", usd - lockedUsd, lockedUsd);
  f.apply("BTC", btc - lockedBtc, lockedBtc);
}

Deno.test("decideMarketMaker() sizes its quotes down to what it can pay for", () => {
  const f = funds("1200", "0.01");
  const d = decideMarketMaker(state(), f, ctx(), ALWAYS, DEFAULT_BOT_PARAMS, ids());
  const cost = (side: Side) =>
    sides(d.intents, side).reduce(
      (n, i) => n + (side === "BUY" ? quoteAmount(BTC, i.ticks!, i.lots) : 0n),
      0n,
    );
  // two levels of 5 and 10 typical orders (about 520 and 1040 USD) do not fit in 1200 USD: the
  // second is smaller, and with the margin for fees everything fits
  const bids = sides(d.intents, "BUY");
  assert.equal(bids.length, 2);
  assert.ok(bids[1].lots < 2 * 16 * 5 * 0.75, `second bid ${bids[1].lots} lots`);
  assert.ok(cost("BUY") * 102n / 100n <= toUnits("1200"), "bids cost more than the bot has");
  assert.ok(f.free("USD") >= 0n);
  // 0.01 BTC is 100 lots: the asks share it
  const askLots = sides(d.intents, "SELL").reduce((n, i) => n + i.lots, 0);
  assert.ok(askLots <= 100, `${askLots} lots asked`);
});

Deno.test("decideMarketMaker() counts on getting back only what is left of quotes that filled", () => {
  const s = state("fills");
  const f = funds("2000", "0");
  const first = decideMarketMaker(s, f, ctx(), ALWAYS, DEFAULT_BOT_PARAMS, ids());
  answerPlaces(s, f, first.intents, toUnits("2000"), 0n);
  const [b1, b2] = sides(first.intents, "BUY");
  // the second bid fills completely, the first by half: the engine spent that USD on BTC
  orderUpdated(
    s.orders,
    {
      event: "TRADE",
      order: sampleOrderAck({ clientOrderId: b2.clientOrderId, status: "FILLED" }),
    },
    BTC,
    2,
  );
  const half = Math.floor(b1.lots / 2);
  orderUpdated(
    s.orders,
    {
      event: "TRADE",
      order: sampleOrderAck({
        clientOrderId: b1.clientOrderId,
        status: "PARTIALLY_FILLED",
        remainingQty: qtyText(BTC, half),
      }),
    },
    BTC,
    2,
  );
  const stillLocked = quoteAmount(BTC, b1.ticks!, half);
  const spent = quoteAmount(BTC, b2.ticks!, b2.lots) + quoteAmount(BTC, b1.ticks!, b1.lots - half);
  const usdLeft = toUnits("2000") - spent; // free + what the half-filled bid still locks
  f.apply("USD", usdLeft - stillLocked, stillLocked);
  f.apply("BTC", baseAmount(BTC, b2.lots + b1.lots - half), 0n);

  const again = decideMarketMaker(
    s,
    f,
    ctx({ step: 2, priceTicks: 6_500_700 }),
    ALWAYS,
    DEFAULT_BOT_PARAMS,
    ids(),
  );
  assert.equal(again.intents[0].type, "cancelAll");
  const bids = sides(again.intents, "BUY");
  const cost = bids.reduce((n, i) => n + quoteAmount(BTC, i.ticks!, i.lots), 0n);
  assert.ok(bids.length > 0);
  assert.ok(cost <= usdLeft, `new bids cost ${cost}, but the cancelAll leaves ${usdLeft}`);
  // the old quotes wait for the cancelAll's answer; the new ones for theirs
  assert.deepEqual(
    s.orders.map((o) => o.state),
    [
      ...Array(s.orders.length - places(again.intents).length).fill("canceling"),
      ...places(again.intents).map(() => "sent"),
    ],
  );
});

Deno.test("decideNoiseTrader() cancels only the orders it still believes open", () => {
  const s = state("seen");
  const f = funds("100000", "2");
  const params = { ...DEFAULT_BOT_PARAMS, noiseMarketProb: 0, noiseTtlMinSec: 1, noiseTtlMaxSec: 1 };
  const first = decideNoiseTrader(s, f, ctx({ step: 1 }), 40, params, ids());
  const placed = places(first.intents);
  assert.ok(placed.length >= 3, `${placed.length} orders`);
  const [filledAtOnce, filledLater, ...resting] = placed;
  // the engine's answers: one filled at once, the others rest; then an order event: another filled
  for (const p of placed) {
    f.settle(p.seq);
    placeAnswered(
      s.orders,
      p.seq,
      sampleOrderAck({ clientOrderId: p.clientOrderId, status: p === filledAtOnce ? "FILLED" : "ACCEPTED" }),
      BTC,
      2,
    );
  }
  orderUpdated(
    s.orders,
    { event: "TRADE", order: sampleOrderAck({ clientOrderId: filledLater.clientOrderId, status: "FILLED" }) },
    BTC,
    3,
  );
  const later = decideNoiseTrader(s, f, ctx({ step: 10 }), 0, params, ids());
  const cancels = later.intents.filter((i) => i.type === "cancel");
  assert.deepEqual(cancels.map((c) => c.clientOrderId), resting.map((r) => r.clientOrderId));
  // one was filled between the decision and the cancel's arrival: UNKNOWN_ORDER closes it, no retry
  for (const c of cancels) cancelAnswered(s.orders, c.seq);
  assert.deepEqual(s.orders, []);
  assert.deepEqual(decideNoiseTrader(s, f, ctx({ step: 20 }), 0, params, ids()).intents, []);
});
