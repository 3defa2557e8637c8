import assert from "node:assert/strict";
import { createPriceState, followLegs, simulateMinuteCloses, stepPrice, toTicks } from "./price_model.ts";
import { customProfile, PROFILES } from "./profiles.ts";
import { createRng } from "./rng.ts";
import { checkFacts, returnFacts } from "./stylized_facts.ts";

Deno.test("simulateMinuteCloses() is reproducible from its seed", () => {
  const a = simulateMinuteCloses({ seed: "7", profile: PROFILES.normal, minutes: 30 });
  const b = simulateMinuteCloses({ seed: "7", profile: PROFILES.normal, minutes: 30 });
  const c = simulateMinuteCloses({ seed: "8", profile: PROFILES.normal, minutes: 30 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("the volatile profile reproduces the stylized facts over thousands of minutes", async (t) => {
  for (const seed of ["kalency-1", "kalency-2"]) {
    await t.step(`seed ${seed}`, () => {
      const closes = simulateMinuteCloses({ seed, profile: PROFILES.volatile, minutes: 4000, tick: 0.01 });
      const f = returnFacts(closes);
      const detail = JSON.stringify({ ...f, absAcf: f.absAcf.map((x) => x.toFixed(3)) });
      assert.ok(f.excessKurtosis > 1, `excess kurtosis ${detail}`);
      assert.ok(Math.abs(f.acf1) < 0.1, `acf1 ${detail}`);
      assert.ok(f.absAcf[0] > 0.1, `acf |r| lag 1 ${detail}`);
      // clustering persists: still positive several minutes later
      assert.ok(f.absAcf[4] > 0, `acf |r| lag 5 ${detail}`);
      assert.deepEqual(checkFacts(f), { excessKurtosis: true, acf1: true, absAcf1: true });
    });
  }
});

Deno.test("profiles order by volatility: calm < normal < volatile", () => {
  const sd = (name: string) =>
    returnFacts(simulateMinuteCloses({ seed: "order", profile: PROFILES[name], minutes: 1500 })).stdev;
  assert.ok(sd("calm") < sd("normal"));
  assert.ok(sd("normal") < sd("volatile"));
});

Deno.test("volatility 0 keeps the price flat, as the original did", () => {
  const flat = customProfile(0, 250);
  const state = createPriceState(100, flat, 0.01);
  const rng = createRng("flat", "x");
  for (let i = 0; i < 10_000; i++) stepPrice(state, flat, rng, 0.25);
  assert.equal(toTicks(state, 0.01), 10_000);
});

Deno.test("the crash profile enters its crash regime and falls", () => {
  let drops = 0;
  for (const seed of ["a", "b", "c", "d", "e", "f"]) {
    const state = createPriceState(100, PROFILES.normal, 0.01);
    state.regime = PROFILES.crash.enter!;
    const rng = createRng(seed, "crash");
    for (let i = 0; i < 240 * 5; i++) stepPrice(state, PROFILES.crash, rng, 0.25);
    if (Math.exp(state.logPrice) < 98) drops++;
  }
  assert.ok(drops >= 4, `only ${drops} of 6 crash runs fell by 2% or more in five minutes`);
});

Deno.test("toTicks() rounds to the tick and never goes below one tick", () => {
  const state = createPriceState(65000.123, PROFILES.normal, 0.01);
  assert.equal(toTicks(state, 0.01), 6_500_012);
  const tiny = createPriceState(0.000001, PROFILES.normal, 0.01);
  assert.equal(toTicks(tiny, 0.01), 1);
});

Deno.test("mean reversion pulls the price back towards its anchor", () => {
  const profile = { ...customProfile(0, 250), meanReversionPerHour: 2 };
  const state = createPriceState(100, profile, 0.01);
  state.logPrice = Math.log(150);
  const rng = createRng("mr", "x");
  for (let i = 0; i < 4 * 3600; i++) stepPrice(state, profile, rng, 0.25); // one hour
  const price = Math.exp(state.logPrice);
  assert.ok(price < 110 && price > 100, `price ${price}`);
});

Deno.test("stepPrice() keeps the price finite and within a millionfold of the start, whatever the volatility", () => {
  for (const sigmaPerMinute of [50, 1e300, Infinity]) {
    const profile = { ...PROFILES.normal, sigmaPerMinute };
    const state = createPriceState(100, profile, 0.01);
    const rng = createRng("wild", "model");
    for (let i = 0; i < 2_000; i++) {
      stepPrice(state, profile, rng, 0.25);
      assert.ok(Number.isFinite(state.logPrice), `step ${i} at sigma ${sigmaPerMinute}: ${state.logPrice}`);
      assert.ok(state.logPrice >= Math.log(0.01) && state.logPrice <= Math.log(100 * 1e6) + 1e-9);
    }
  }
});

Deno.test("followLegs() takes the legs' move at once and halves the gap to them every halfLifeSec", () => {
  const state = createPriceState(20, PROFILES.normal, 0.0001);
  const x0 = state.logPrice;
  // the legs rose 1 % and the pair did not move on its own: it rises 1 % too, no gap
  followLegs(state, x0, x0, x0 + 0.01, 0.25);
  assert.ok(Math.abs(state.logPrice - (x0 + 0.01)) < 1e-12);
  // a gap of 100 bp (the pair's own jump), kept at ownShare, then halved over one half-life
  const c = { halfLifeSec: 2, ownShare: 1 };
  const s2 = createPriceState(20, PROFILES.normal, 0.0001);
  const implied = s2.logPrice;
  s2.logPrice += 0.01;
  followLegs(s2, implied, implied, implied, 2, c);
  assert.ok(Math.abs(s2.logPrice - implied - 0.005) < 1e-12, `${s2.logPrice - implied}`);
});
