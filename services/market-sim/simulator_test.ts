import assert from "node:assert/strict";
import {
  DEFAULT_MARKETS,
  type EngineCommandInput,
  type MarketSpec,
  MAX_SIM_VOLATILITY,
  type SimControl,
} from "@lib/contracts";
import { DEFAULT_POPULATION } from "./bots.ts";
import { type MarketLookup, Simulator, type SimulatorOptions } from "./simulator.ts";

const T0 = 1_764_000_000_000;
const LOOKUP: MarketLookup = {
  spec: (s) => DEFAULT_MARKETS.find((m) => m.symbol === s),
};

function makeSim(over: Partial<SimulatorOptions> = {}): Simulator {
  const sim = new Simulator({
    seed: "42",
    intervalMs: 250,
    runTag: "r1",
    replyTo: "kt:sim:stream:replies:market-sim",
    profile: "normal",
    bots: DEFAULT_POPULATION,
    running: true,
    ...over,
  });
  for (const m of DEFAULT_MARKETS) sim.addSymbol(m);
  return sim;
}

/** Gives every bot an account and a well-funded wallet, as signup and the engine would. */
function fundBots(sim: Simulator): void {
  for (const b of sim.pendingBots()) sim.setBotUser(b.key, `u-${b.username}`);
  for (const b of sim.activeBots()) {
    sim.updateWallet({
      userId: b.userId,
      balances: [
        { asset: "USD", free: "1000000", locked: "0" },
        { asset: "BTC", free: "20", locked: "0" },
        { asset: "ETH", free: "300", locked: "0" },
      ],
      updatedAt: T0,
    });
  }
}

function run(sim: Simulator, steps: number, controls: Map<number, SimControl> = new Map()) {
  const ticks = [];
  const commands: EngineCommandInput[] = [];
  for (let i = 0; i < steps; i++) {
    const c = controls.get(i);
    if (c) sim.applyControl(c, LOOKUP);
    const out = sim.step(T0 + i * 250);
    ticks.push(...out.ticks);
    commands.push(...out.commands);
  }
  return { ticks, commands };
}

function seeded(seed: string, controls?: Map<number, SimControl>) {
  const sim = makeSim({ seed });
  fundBots(sim);
  return run(sim, 2_400, controls); // ten simulated minutes
}

Deno.test("Simulator: the same seed and commands give the same ticks and bot orders", () => {
  const controls = new Map<number, SimControl>([
    [400, { action: "volatility", profile: "volatile", ts: 0 }],
    [800, { action: "pause", symbol: "ETH-USD", ts: 0 }],
    [1200, { action: "resume", symbol: "eth-usd", ts: 0 }],
  ]);
  const a = seeded("42", controls);
  const b = seeded("42", controls);
  assert.ok(a.ticks.length > 6_000);
  assert.ok(a.commands.length > 1_000, `only ${a.commands.length} commands`);
  assert.deepEqual(a.ticks, b.ticks);
  assert.deepEqual(a.commands, b.commands);
  const c = seeded("43", controls);
  assert.notDeepEqual(a.ticks.map((t) => t.price), c.ticks.map((t) => t.price));
  assert.notDeepEqual(a.commands, c.commands);
});

Deno.test("Simulator: every bot kind sends orders with its own user id and reply stream", () => {
  const { commands } = seeded("kinds");
  const users = new Set(commands.map((c) => (c as { userId: string }).userId));
  for (const name of ["bot-mm-1", "bot-mm-2", "bot-noise-1", "bot-noise-4", "bot-mom-1"]) {
    assert.ok(users.has(`u-${name}`), `${name} sent nothing`);
  }
  assert.ok(commands.every((c) => c.replyTo === "kt:sim:stream:replies:market-sim"));
  const places = commands.filter((c) => c.type === "place");
  // takers send protected IOC limits; nothing sweeps the book with a MARKET order
  assert.ok(places.some((c) => c.orderType === "LIMIT" && c.timeInForce === "IOC"));
  assert.ok(places.some((c) => c.orderType === "LIMIT" && c.timeInForce === undefined));
  assert.ok(places.every((c) => c.orderType === "LIMIT"));
  // prices on the tick, quantities on the step (exact decimal strings)
  for (const c of places) {
    const spec = DEFAULT_MARKETS.find((m) => m.symbol === c.symbol)!;
    if (c.price) assert.ok(decimals(String(c.price)) <= decimals(spec.tickSize), String(c.price));
    assert.ok(decimals(String(c.qty)) <= decimals(spec.stepSize), String(c.qty));
  }
});

function decimals(text: string): number {
  return text.includes(".") ? text.split(".")[1].length : 0;
}

Deno.test("Simulator: ticks carry tick-rounded prices, simulated time and the regime", () => {
  const sim = makeSim();
  const out = sim.step(T0);
  assert.equal(out.ticks.length, 3);
  const btc = out.ticks[0];
  assert.equal(btc.symbol, "BTC-USD");
  assert.match(btc.price, /^\d+(\.\d{1,2})?$/);
  assert.equal(btc.ts, T0);
  // every amount in its shortest form, as the rest of the system sends them: "64909", not "64909.00"
  const { ticks, commands } = run(makeSim(), 400);
  const amounts = [
    ...ticks.flatMap((t) => [t.price, t.volume]),
    ...commands.flatMap((c) => c.type === "place" ? [c.price, c.qty].filter((v) => v !== undefined) : []),
  ].map(String);
  assert.ok(amounts.length > 1000);
  assert.deepEqual(amounts.filter((a) => /\.\d*0$/.test(a)), [], "no trailing zeros");
  assert.equal(btc.regime, "normal");
  assert.equal(sim.step(T0 + 250).ticks[0].ts, T0 + 250);
});

Deno.test("Simulator: pause stops a symbol's ticks and bot orders; resume brings them back", () => {
  const sim = makeSim();
  fundBots(sim);
  run(sim, 40);
  assert.deepEqual(sim.applyControl({ action: "pause", symbol: "btc-usd", ts: 0 }, LOOKUP).applied, true);
  const paused = run(sim, 400);
  assert.ok(paused.ticks.every((t) => t.symbol !== "BTC-USD"));
  assert.ok(paused.commands.every((c) => (c as { symbol?: string }).symbol !== "BTC-USD"));
  assert.equal(sim.status(T0).symbols.find((s) => s.symbol === "BTC-USD")!.paused, true);
  sim.applyControl({ action: "resume", symbol: "BTC-USD", ts: 0 }, LOOKUP);
  assert.ok(run(sim, 4).ticks.some((t) => t.symbol === "BTC-USD"));
  assert.equal(sim.applyControl({ action: "pause", symbol: "NOPE-USD", ts: 0 }, LOOKUP).applied, false);
});

Deno.test("Simulator: stop cancels every bot's orders and freezes; start resumes", () => {
  const sim = makeSim();
  fundBots(sim);
  run(sim, 200);
  sim.applyControl({ action: "stop", ts: 0 }, LOOKUP);
  const stopped = sim.step(T0);
  assert.equal(stopped.ticks.length, 0);
  assert.ok(stopped.commands.length > 0);
  assert.ok(stopped.commands.every((c) => c.type === "cancelAll"));
  assert.deepEqual(run(sim, 100), { ticks: [], commands: [] });
  assert.equal(sim.status(T0).running, false);
  sim.applyControl({ action: "start", ts: 0 }, LOOKUP);
  assert.equal(sim.step(T0).ticks.length, 3);
});

Deno.test("Simulator: ensure adds a symbol at the engine's start price, or at the first symbol's price", () => {
  const sol: MarketSpec = { ...DEFAULT_MARKETS[1], symbol: "SOL-USD", base: "SOL", startPrice: "150" };
  const sim = makeSim();
  const lookup: MarketLookup = { spec: (s) => (s === "SOL-USD" ? sol : undefined) };
  assert.equal(sim.applyControl({ action: "ensure", symbol: "sol-usd", ts: 0 }, lookup).applied, true);
  assert.equal(sim.status(T0).symbols.find((s) => s.symbol === "SOL-USD")!.price, "150");
  const r = sim.applyControl({ action: "ensure", symbol: "DOGE-USD", ts: 0 }, lookup);
  assert.ok(r.applied && /default filters/.test(r.message));
  assert.equal(sim.status(T0).symbols.find((s) => s.symbol === "DOGE-USD")!.price, "65000");
  assert.equal(sim.applyControl({ action: "ensure", symbol: "bad", ts: 0 }, lookup).applied, false);
  // ensuring a paused symbol resumes it
  sim.applyControl({ action: "pause", symbol: "SOL-USD", ts: 0 }, lookup);
  sim.applyControl({ action: "ensure", symbol: "SOL-USD", ts: 0 }, lookup);
  assert.equal(sim.status(T0).symbols.find((s) => s.symbol === "SOL-USD")!.paused, false);
});

Deno.test("Simulator: volatility controls set named profiles, raw numbers, per symbol or for all", () => {
  const sim = makeSim();
  sim.applyControl({ action: "volatility", profile: "calm", symbol: "ETH-USD", ts: 0 }, LOOKUP);
  let st = sim.status(T0);
  assert.equal(st.profile, "normal");
  assert.equal(st.symbols.find((s) => s.symbol === "ETH-USD")!.profile, "calm");
  sim.applyControl({ action: "volatility", volatility: 0.002, ts: 0 }, LOOKUP);
  st = sim.status(T0);
  assert.equal(st.profile, "custom");
  assert.ok(Math.abs(st.volatility - 0.002) < 1e-12);
  assert.ok(st.symbols.every((s) => s.profile === "custom"));
  // no number and no profile: a flat price, as the original did
  sim.applyControl({ action: "volatility", ts: 0 }, LOOKUP);
  const before = sim.status(T0).symbols.map((s) => s.price);
  run(sim, 200);
  assert.deepEqual(sim.status(T0).symbols.map((s) => s.price), before);
  assert.equal(sim.applyControl({ action: "volatility", profile: "wild", ts: 0 }, LOOKUP).applied, false);
});

Deno.test("Simulator: an absurd volatility is refused, and the largest allowed keeps prices finite", () => {
  const sim = makeSim();
  fundBots(sim);
  const refused = sim.applyControl({ action: "volatility", volatility: 1e308, ts: 0 }, LOOKUP);
  assert.equal(refused.applied, false);
  assert.match(refused.message, /between 0 and 0.1/);
  assert.equal(sim.status(T0).profile, "normal");
  assert.ok(
    sim.applyControl({ action: "volatility", volatility: MAX_SIM_VOLATILITY, ts: 0 }, LOOKUP).applied,
  );
  const { ticks, commands } = run(sim, 400);
  assert.ok(ticks.length > 0 && commands.length > 0);
  for (const t of ticks) assert.match(t.price, /^\d+(\.\d+)?$/, `tick price ${t.price}`);
});

Deno.test("Simulator: the crash profile crashes at once when live, not when replayed", () => {
  const live = makeSim();
  live.applyControl({ action: "volatility", profile: "crash", ts: 0 }, LOOKUP);
  assert.ok(live.status(T0).symbols.every((s) => s.regime === "crash"));
  const replayed = makeSim();
  replayed.applyControl({ action: "volatility", profile: "crash", ts: 0 }, LOOKUP, true);
  assert.ok(replayed.status(T0).symbols.every((s) => s.regime === "normal"));
  assert.equal(replayed.status(T0).profile, "crash");
});

Deno.test("Simulator: bot controls resize the population; removed bots cancel their orders", () => {
  const sim = makeSim();
  fundBots(sim);
  run(sim, 200);
  sim.applyControl({ action: "bots", kind: "noiseTraders", count: 6, ratePerSec: 1, ts: 0 }, LOOKUP);
  assert.deepEqual(sim.pendingBots().map((b) => b.username), ["bot-noise-5", "bot-noise-6"]);
  assert.deepEqual(sim.status(T0).bots.noiseTraders, { count: 6, ratePerSec: 1, active: 4 });
  sim.applyControl({ action: "bots", kind: "marketMakers", count: 1, ts: 0 }, LOOKUP);
  const out = sim.step(T0);
  const cancels = out.commands.filter((c) => c.type === "cancelAll" && c.userId === "u-bot-mm-2");
  assert.equal(cancels.length, 3);
  assert.equal(sim.status(T0).bots.marketMakers.count, 1);
});

Deno.test("Simulator: a new bot account opens its wallet and cancels what an earlier run left resting", () => {
  const sim = makeSim();
  sim.setBotUser("mm1", "u-1");
  const out = sim.step(T0);
  assert.deepEqual(
    out.commands.map((c) => [c.type, (c as { symbol?: string }).symbol]),
    [["openAccount", undefined], ["cancelAll", "BTC-USD"], ["cancelAll", "ETH-USD"], [
      "cancelAll",
      "BTC-ETH",
    ]],
  );
});

Deno.test("Simulator: bots wait for their wallet and top an exhausted asset up", () => {
  const sim = makeSim({ botParams: {} });
  for (const b of sim.pendingBots()) sim.setBotUser(b.key, `u-${b.username}`);
  const before = run(sim, 400);
  assert.ok(before.commands.every((c) => c.type === "cancelAll" || c.type === "openAccount"));
  for (const b of sim.activeBots()) {
    sim.updateWallet({
      userId: b.userId,
      balances: [{ asset: "USD", free: "1000000", locked: "0" }],
      updatedAt: T0,
    });
  }
  const after = run(sim, 400);
  const deposits = after.commands.filter((c) => c.type === "deposit");
  assert.ok(deposits.some((d) => d.asset === "BTC"), "no BTC top-up");
  // at most one top-up per bot and asset per cooldown (60 s = 240 steps)
  const perBotAsset = new Map<string, number>();
  for (const d of deposits) {
    perBotAsset.set(`${d.userId}/${d.asset}`, (perBotAsset.get(`${d.userId}/${d.asset}`) ?? 0) + 1);
  }
  assert.ok([...perBotAsset.values()].every((n) => n <= 2));
});

Deno.test("Simulator.onReply() attributes rejections to the bot kind", () => {
  const sim = makeSim();
  fundBots(sim);
  const { commands } = run(sim, 200);
  const place = commands.find((c) => c.type === "place" && c.userId === "u-bot-noise-1")!;
  const r = sim.onReply({
    ok: false,
    cmdId: place.cmdId,
    reason: "INSUFFICIENT_BALANCE",
    message: "not enough USD",
  });
  assert.deepEqual(r, { kind: "noiseTraders", bot: "noise1", rejected: "INSUFFICIENT_BALANCE" });
  assert.equal(sim.onReply({ ok: true, cmdId: "other-sender-1" }), undefined);
});

Deno.test("Simulator.onReply() forgets a limit order that filled at once, so it is not canceled later", () => {
  const twins = [0, 1].map(() => {
    const sim = makeSim({ botParams: { noiseMarketProb: 0, noiseTtlMinSec: 5, noiseTtlMaxSec: 5 } });
    fundBots(sim);
    let place: EngineCommandInput | undefined;
    for (let i = 0; i < 400 && !place; i++) {
      place = sim.step(T0 + i * 250).commands.find((c) => c.type === "place" && c.userId === "u-bot-noise-1");
    }
    assert.ok(place && place.type === "place");
    return { sim, place };
  });
  const { sim, place } = twins[0];
  assert.ok(place.type === "place");
  const ack = {
    orderId: "o-1",
    clientOrderId: place.clientOrderId,
    userId: place.userId,
    symbol: place.symbol,
    side: place.side,
    type: "LIMIT" as const,
    timeInForce: "GTC" as const,
    postOnly: false,
    stp: "EXPIRE_TAKER" as const,
    status: "FILLED" as const,
    qty: String(place.qty),
    filledQty: String(place.qty),
    remainingQty: "0",
    filledQuote: "1",
    avgPrice: String(place.price),
    createdAt: T0,
    ts: T0,
  };
  sim.onReply({ ok: true, cmdId: place.cmdId, order: ack });
  const canceled = (cmds: EngineCommandInput[]) =>
    cmds.some((c) => c.type === "cancel" && c.clientOrderId === place.clientOrderId);
  assert.ok(!canceled(run(sim, 40).commands)); // past its five-second time to live
  assert.ok(canceled(run(twins[1].sim, 40).commands)); // without the ack it is canceled
});

Deno.test("Simulator: with many symbols each bot stays under its open-order budget", () => {
  const sim = new Simulator({
    seed: "many",
    intervalMs: 250,
    runTag: "r1",
    profile: "normal",
    bots: DEFAULT_POPULATION,
    running: true,
    botParams: { maxOpenOrders: 450 },
  });
  const base = DEFAULT_MARKETS[1];
  for (let i = 1; i <= 200; i++) {
    const code = `S${String(i).padStart(3, "0")}`;
    sim.addSymbol({ ...base, symbol: `${code}-USD`, base: code, startPrice: String(10 + (i % 90)) });
  }
  for (const b of sim.pendingBots()) sim.setBotUser(b.key, `u-${b.username}`);
  for (const b of sim.activeBots()) {
    sim.updateWallet({
      userId: b.userId,
      balances: [
        { asset: "USD", free: "10000000", locked: "0" },
        ...Array.from({ length: 200 }, (_, i) => ({
          asset: `S${String(i + 1).padStart(3, "0")}`,
          free: "1000000",
          locked: "0",
        })),
      ],
      updatedAt: T0,
    });
  }
  // open orders per bot, as the engine would count them (a cancelAll clears the bot's symbol)
  const open = new Map<string, Map<string, Set<string>>>();
  for (let i = 0; i < 240 * 3; i++) {
    for (const c of sim.step(T0 + i * 250).commands) {
      if (!("userId" in c) || !("symbol" in c)) continue;
      const bySymbol = open.get(c.userId) ?? open.set(c.userId, new Map()).get(c.userId)!;
      const set = bySymbol.get(c.symbol!) ?? bySymbol.set(c.symbol!, new Set()).get(c.symbol!)!;
      if (c.type === "cancelAll") set.clear();
      if (c.type === "cancel") set.delete(c.clientOrderId!);
      if (c.type === "place" && c.orderType === "LIMIT" && c.timeInForce !== "IOC") set.add(c.clientOrderId!);
    }
  }
  for (const [user, bySymbol] of open) {
    const total = [...bySymbol.values()].reduce((n, s) => n + s.size, 0);
    assert.ok(total <= 450, `${user} keeps ${total} open orders`);
  }
});

Deno.test("Simulator: a cross pair follows its legs (no free triangle arbitrage), even in a crash of its own", () => {
  for (const profile of ["normal", "crash"]) {
    const sim = makeSim({ seed: `triangle-${profile}` });
    sim.applyControl({ action: "volatility", profile, symbol: "BTC-ETH", ts: 0 }, LOOKUP);
    const gaps: number[] = [];
    for (let i = 0; i < 4 * 60 * 20; i++) { // twenty simulated minutes
      const price = new Map(sim.step(T0 + i * 250).ticks.map((t) => [t.symbol, Number(t.price)]));
      const implied = price.get("BTC-USD")! / price.get("ETH-USD")!;
      gaps.push(Math.abs(Math.log(price.get("BTC-ETH")! / implied)) * 1e4); // in basis points
    }
    gaps.sort((a, b) => a - b);
    const p99 = gaps[Math.floor(gaps.length * 0.99)];
    const worst = gaps[gaps.length - 1];
    const msg = `${profile}: BTC-ETH off its legs by ${p99.toFixed(1)} bp (p99), ${
      worst.toFixed(1)
    } bp at worst`;
    // fees and the spread are several basis points: the gap stays inside them, but for a moment
    // after a jump of the pair's own in a crash
    assert.ok(p99 < (profile === "crash" ? 60 : 20), msg);
    assert.ok(worst < (profile === "crash" ? 200 : 40), msg);
  }
});

Deno.test("Simulator: market makers quote several typical orders a level, so the book holds a person's market order", () => {
  const sim = makeSim();
  fundBots(sim);
  const { commands } = run(sim, 400);
  const quotes = commands.filter((c) =>
    c.type === "place" && c.symbol === "BTC-USD" && c.userId.startsWith("u-bot-mm") &&
    c.timeInForce === undefined
  ) as Extract<EngineCommandInput, { type: "place" }>[];
  assert.ok(quotes.length > 20);
  // a typical order on BTC-USD is 20 x the 5 USD minimum notional: quotes are 5 (and 10) of them, ±25 %
  const notionals = quotes.map((q) => Number(q.price) * Number(q.qty));
  assert.ok(Math.min(...notionals) >= 350, `smallest quote ${Math.min(...notionals).toFixed(0)} USD`);
  assert.ok(Math.max(...notionals) >= 900, `largest quote ${Math.max(...notionals).toFixed(0)} USD`);
});

Deno.test("Simulator: the answer to openAccount gives a bot its wallet, and wallet events keep it current", () => {
  const sim = makeSim();
  sim.setBotUser("noise1", "u-n1");
  const open = sim.step(T0).commands.find((c) => c.type === "openAccount")!;
  assert.equal(sim.activeBots()[0].walletKnown, false);
  sim.onReply({
    ok: true,
    cmdId: open.cmdId,
    wallet: {
      userId: "u-n1",
      balances: [{ asset: "USD", free: "50", locked: "0" }, { asset: "BTC", free: "0", locked: "0" }],
      updatedAt: T0,
    },
  });
  assert.equal(sim.activeBots()[0].walletKnown, true);
  // a read model read later is older than what the bot learned: it is not taken
  sim.updateWallet({
    userId: "u-n1",
    balances: [{ asset: "USD", free: "1000000", locked: "0" }],
    updatedAt: T0,
  });
  const buys = (n: number) =>
    run(sim, n).commands.filter((c) => c.type === "place" && c.symbol === "BTC-USD" && c.side === "BUY");
  assert.deepEqual(buys(400), [], "50 USD buys no typical order of BTC");
  sim.onWalletEvent({
    userId: "u-n1",
    asset: "USD",
    freeDelta: "1000000",
    lockedDelta: "0",
    free: "1000050",
    locked: "0",
    reason: "DEPOSIT",
    ts: T0,
  });
  assert.ok(buys(400).length > 0);
});

Deno.test("Simulator: an order an order event reports filled is not canceled; a cancel that finds none is not sent again", () => {
  const sim = makeSim({ botParams: { noiseMarketProb: 0, noiseTtlMinSec: 5, noiseTtlMaxSec: 5 } });
  fundBots(sim);
  const placed: Extract<EngineCommandInput, { type: "place" }>[] = [];
  for (let i = 0; i < 400 && placed.length < 2; i++) {
    for (const c of sim.step(T0 + i * 250).commands) {
      if (c.type === "place" && c.userId === "u-bot-noise-1" && c.symbol === "BTC-USD") placed.push(c);
    }
  }
  const [filled, resting] = placed;
  const ackOf = (p: typeof filled, status: "ACCEPTED" | "FILLED") => ({
    orderId: `o-${p.clientOrderId}`,
    clientOrderId: p.clientOrderId,
    userId: p.userId,
    symbol: p.symbol,
    side: p.side,
    type: "LIMIT" as const,
    timeInForce: "GTC" as const,
    postOnly: false,
    stp: "EXPIRE_TAKER" as const,
    status,
    price: String(p.price),
    qty: String(p.qty),
    filledQty: status === "FILLED" ? String(p.qty) : "0",
    remainingQty: status === "FILLED" ? "0" : String(p.qty),
    filledQuote: "0",
    avgPrice: "0",
    createdAt: T0,
    ts: T0,
  });
  for (const p of placed) sim.onReply({ ok: true, cmdId: p.cmdId, order: ackOf(p, "ACCEPTED") });
  sim.onOrderEvent({ event: "TRADE", order: ackOf(filled, "FILLED"), tradeId: "t-1", ts: T0 });
  const cancels = run(sim, 40).commands.filter((c) => c.type === "cancel" && c.userId === "u-bot-noise-1");
  const ids: (string | undefined)[] = cancels.map((c) => (c as { clientOrderId: string }).clientOrderId);
  assert.ok(!ids.includes(filled.clientOrderId), "canceled an order it saw fill");
  assert.ok(ids.includes(resting.clientOrderId));
  // the resting one filled before its cancel arrived: UNKNOWN_ORDER, and it is not canceled again
  const cancel = cancels.find((c) =>
    (c as { clientOrderId: string }).clientOrderId === resting.clientOrderId
  )!;
  const r = sim.onReply({
    ok: false,
    cmdId: cancel.cmdId,
    reason: "UNKNOWN_ORDER",
    message: "order not found",
  });
  assert.equal(r?.rejected, "UNKNOWN_ORDER");
  const again = run(sim, 400).commands.filter((c) =>
    c.type === "cancel" &&
    (c.clientOrderId === resting.clientOrderId || c.clientOrderId === filled.clientOrderId)
  );
  assert.deepEqual(again, []);
});
