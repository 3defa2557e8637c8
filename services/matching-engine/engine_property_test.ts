/**
 * Property tests over long random command streams: several markets, a handful of users (so
 * self-trades happen), every order kind, cancels by id and clientOrderId, cancelAll, deposits,
 * pauses, every STP mode, and fees > 0.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { EngineCommand, type EngineCommandInput } from "@lib/contracts";
import { fromSteps, parseUnits } from "@lib/money";
import { createEngine, defaultEngineSettings, inspectCore, restoreEngine } from "./engine.ts";
import type { CommandOutput, EngineSettings, MatchingEngine } from "./engine_api.ts";
import { coreViolations } from "./core/invariants.ts";

const T0 = 1_764_118_000_000;
const EPOCH = T0.toString(36);
const USERS = ["u1", "u2", "u3", "u4", "u5"];
const ASSETS = ["USD", "BTC", "ETH"];

function settings(): EngineSettings {
  return {
    ...defaultEngineSettings(),
    makerFeeBps: 7,
    takerFeeBps: 13,
    maxOpenOrdersPerUser: 3,
    startBalances: { USD: "3000", BTC: "0.05", ETH: "1.5" },
  };
}

const MARKETS = defaultEngineSettings().markets.map((m) => ({
  symbol: m.symbol,
  tick: m.tickSize,
  step: m.stepSize,
  start: Number(parseUnits(m.startPrice, 8) / parseUnits(m.tickSize, 8)),
}));

const side = fc.constantFrom("BUY" as const, "SELL" as const);
const user = fc.constantFrom(...USERS);
const market = fc.integer({ min: 0, max: MARKETS.length - 1 });
const coid = fc.option(fc.constantFrom("k1", "k2", "k3", "k4"), { freq: 3 });
/** Ticks from the start price: mostly close (so orders cross), sometimes out of the price band. */
const offset = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: -40, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: -3_000_000, max: 3_000_000 }) },
);

const placeCmd = fc.record({
  kind: fc.constant("place" as const),
  user,
  market,
  side,
  limit: fc.integer({ min: 0, max: 9 }).map((n) => n < 7),
  tif: fc.constantFrom("GTC" as const, "GTC" as const, "IOC" as const, "FOK" as const),
  postOnly: fc.boolean().chain((b) => fc.constant(b && false)).chain(() => fc.integer({ min: 0, max: 9 }))
    .map((n) => n === 0),
  stp: fc.constantFrom(
    "EXPIRE_TAKER" as const,
    "EXPIRE_MAKER" as const,
    "EXPIRE_BOTH" as const,
    "NONE" as const,
  ),
  offset,
  lots: fc.integer({ min: 1, max: 60 }),
  quote: fc.option(fc.integer({ min: 1, max: 900 }), { freq: 2 }),
  coid,
});
const command = fc.oneof(
  { weight: 14, arbitrary: placeCmd },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("cancel" as const),
      user,
      n: fc.integer({ min: 1, max: 80 }),
      coid,
      symbol: fc.option(market, { freq: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancelAll" as const), user, market }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("deposit" as const),
      user,
      asset: fc.constantFrom(...ASSETS),
      amount: fc.integer({ min: 1, max: 5000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("openAccount" as const), user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("status" as const), market, paused: fc.boolean() }) },
);

type Gen = typeof command extends fc.Arbitrary<infer T> ? T : never;

function toWire(g: Gen, i: number): EngineCommandInput {
  const cmdId = `c${i}`;
  switch (g.kind) {
    case "place": {
      const m = MARKETS[g.market]!;
      const qty = fromSteps(g.lots, m.step);
      const base = {
        type: "place" as const,
        cmdId,
        userId: g.user,
        symbol: m.symbol,
        side: g.side,
        stp: g.stp,
      };
      const extra = g.coid === null ? {} : { clientOrderId: g.coid };
      if (g.limit) {
        const price = fromSteps(Math.max(1, m.start + g.offset), m.tick);
        return {
          ...base,
          ...extra,
          orderType: "LIMIT",
          timeInForce: g.tif,
          postOnly: g.postOnly,
          price,
          qty,
        };
      }
      if (g.side === "BUY" && g.quote !== null) {
        return { ...base, ...extra, orderType: "MARKET", quoteQty: `${g.quote}.5` };
      }
      return { ...base, ...extra, orderType: "MARKET", qty };
    }
    case "cancel":
      return {
        type: "cancel",
        cmdId,
        userId: g.user,
        ...(g.symbol === null ? {} : { symbol: MARKETS[g.symbol]!.symbol }),
        ...(g.coid !== null && g.n % 2 === 0
          ? { clientOrderId: g.coid }
          : { orderId: `ord-${EPOCH}-${g.n}` }),
      };
    case "cancelAll":
      return { type: "cancelAll", cmdId, userId: g.user, symbol: MARKETS[g.market]!.symbol };
    case "deposit":
      return { type: "deposit", cmdId, userId: g.user, asset: g.asset, amount: `${g.amount / 1000}` };
    case "openAccount":
      return { type: "openAccount", cmdId, userId: g.user };
    case "status":
      return {
        type: "setMarketStatus",
        cmdId,
        symbol: MARKETS[g.market]!.symbol,
        status: g.paused ? "PAUSED" : "TRADING",
      };
  }
}

function apply(
  engine: MatchingEngine,
  commands: EngineCommandInput[],
  from: number,
  to: number,
): CommandOutput[] {
  const outs: CommandOutput[] = [];
  for (let i = from; i < to; i++) {
    outs.push(engine.apply(EngineCommand.parse(commands[i]), { id: `${T0 + i}-0`, ts: T0 + i }));
  }
  return outs;
}

const stream = fc.array(command, { minLength: 100, maxLength: 600 }).map((gs) => gs.map(toWire));

Deno.test("property: balances are conserved, books never cross, locks equal what open orders need", () => {
  // What the streams exercised, so a generator that stopped producing interesting cases fails loudly.
  const seenKinds = new Set<string>();
  fc.assert(
    fc.property(stream, (commands) => {
      const engine = createEngine(settings());
      const core = inspectCore(engine);
      // Every wallet event's "after" must follow from the previous one, and the last must equal the state.
      const seen = new Map<string, [bigint, bigint]>();
      const credited = new Map<string, bigint>();
      for (let i = 0; i < commands.length; i++) {
        const out = apply(engine, commands, i, i + 1)[0]!;
        const bad = coreViolations(core);
        assert.deepEqual(bad, [], `after command ${i} ${JSON.stringify(commands[i])}`);
        for (const w of out.walletEvents) {
          const d = core.assets[core.assetIndex.get(w.asset)!]!.decimals;
          const key = `${w.userId}|${w.asset}`;
          const [free, locked] = seen.get(key) ?? [0n, 0n];
          assert.equal(
            free + parseUnits(w.freeDelta.replace("-", ""), d) * (w.freeDelta.startsWith("-") ? -1n : 1n),
            parseUnits(w.free, d),
          );
          assert.equal(
            locked +
              parseUnits(w.lockedDelta.replace("-", ""), d) * (w.lockedDelta.startsWith("-") ? -1n : 1n),
            parseUnits(w.locked, d),
          );
          seen.set(key, [parseUnits(w.free, d), parseUnits(w.locked, d)]);
          if (w.reason === "OPEN_ACCOUNT" || w.reason === "DEPOSIT") {
            credited.set(w.asset, (credited.get(w.asset) ?? 0n) + parseUnits(w.freeDelta, d));
          }
        }
        for (const e of out.executions) {
          assert.notEqual(e.makerOrderId, e.takerOrderId);
          if (e.makerUserId === e.takerUserId) seenKinds.add("self-trade");
          if (e.takerFee !== "0") seenKinds.add("taker fee");
          if (e.makerFee !== "0") seenKinds.add("maker fee");
        }
        if (!out.reply.ok) seenKinds.add(out.reply.reason);
        if (out.reply.ok && out.reply.duplicate) seenKinds.add("duplicate");
        for (const e of out.orderEvents) {
          seenKinds.add(`${e.event} ${e.order.status} ${e.order.expireReason ?? ""}`.trim());
        }
      }
      for (const u of core.users) {
        for (let a = 0; a < core.assets.length; a++) {
          const [free, locked] = seen.get(`${u.id}|${core.assets[a]!.code}`) ?? [0n, 0n];
          assert.equal(BigInt(u.free[a]!), free, `${u.id} ${core.assets[a]!.code} free`);
          assert.equal(BigInt(u.locked[a]!), locked, `${u.id} ${core.assets[a]!.code} locked`);
        }
      }
      for (let a = 0; a < core.assets.length; a++) {
        assert.equal(BigInt(core.supply[a]!), credited.get(core.assets[a]!.code) ?? 0n);
      }
    }),
    { numRuns: 40 },
  );
  for (
    const kind of [
      "self-trade",
      "taker fee",
      "maker fee",
      "duplicate",
      "INSUFFICIENT_BALANCE",
      "PRICE_OUT_OF_BAND",
      "TOO_MANY_OPEN_ORDERS",
      "POST_ONLY_WOULD_CROSS",
      "UNKNOWN_ORDER",
      "MARKET_PAUSED",
      "TRADE FILLED",
      "TRADE PARTIALLY_FILLED",
      "CANCELED CANCELED",
      "EXPIRED EXPIRED FOK_NOT_FILLABLE",
      "EXPIRED EXPIRED SELF_TRADE_PREVENTION",
      "EXPIRED PARTIALLY_FILLED NO_LIQUIDITY",
    ]
  ) {
    assert.ok(
      seenKinds.has(kind),
      `the random streams never produced ${kind}: ${[...seenKinds].sort().join(", ")}`,
    );
  }
});

Deno.test("property: replaying the same commands gives byte-identical outputs", () => {
  fc.assert(
    fc.property(stream, (commands) => {
      const a = apply(createEngine(settings()), commands, 0, commands.length);
      const b = apply(createEngine(settings()), commands, 0, commands.length);
      assert.equal(JSON.stringify(a), JSON.stringify(b));
    }),
    { numRuns: 30 },
  );
});

Deno.test("property: snapshot, restore and continue gives the same outputs as never snapshotting", () => {
  fc.assert(
    fc.property(stream, fc.double({ min: 0, max: 1, noNaN: true }), (commands, at) => {
      const k = Math.floor(at * commands.length);
      const whole = apply(createEngine(settings()), commands, 0, commands.length);
      const first = createEngine(settings());
      apply(first, commands, 0, k);
      const snapshot = JSON.parse(JSON.stringify(first.snapshot()));
      const second = restoreEngine(settings(), snapshot);
      assert.deepEqual(coreViolations(inspectCore(second)), []);
      const rest = apply(second, commands, k, commands.length);
      assert.equal(JSON.stringify(rest), JSON.stringify(whole.slice(k)));
      // A snapshot of the restored engine describes the same state as the original's.
      const again = restoreEngine(settings(), JSON.parse(JSON.stringify(second.snapshot())));
      apply(first, commands, k, commands.length);
      assert.equal(JSON.stringify(again.snapshot()), JSON.stringify(first.snapshot()));
    }),
    { numRuns: 30 },
  );
});
