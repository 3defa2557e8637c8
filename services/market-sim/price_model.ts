/**
 * The price model of one symbol, in log space with floats (a model, not money): geometric Brownian
 * motion whose volatility is the product of a Markov regime (calm, normal, volatile, crash) and a
 * GARCH(1,1) multiplier, plus Poisson jumps and an optional pull towards the start price. One call of
 * {@linkcode stepPrice} advances the model by `dt` seconds; every random draw comes from the given
 * seeded generator, so a seed fixes the path.
 *
 * Per step, with x = ln(price), regime k, base one-minute volatility s and h the GARCH multiplier:
 *
 *   sigma   = s * volMult_k * sqrt(h * dt / 60)
 *   x'      = x + sigma * z - sigma^2 / 2 + sum of N jumps J - kappa * dt * (x - x0)
 *   z ~ N(0, 1), N ~ Poisson(lambda_k * dt), J ~ N(jumpMean_k * s, (jumpStd_k * s)^2)
 *   h'      = (1 - alpha - beta) + alpha * z^2 * h + beta * h
 *   regime  leaves k with probability 1 - exp(-dt / dwell_k), to j != k with probability ∝ weight_j
 *
 * Published prices are the model price rounded to the market's tick (see {@linkcode toTicks}).
 * @module
 */
import { type Profile, type Regime, REGIME_SPECS, REGIMES } from "./profiles.ts";
import { createRng, type Rng } from "./rng.ts";

export interface PriceState {
  /** ln(price). */
  logPrice: number;
  /** ln(start price): where mean reversion pulls. */
  anchor: number;
  regime: Regime;
  /** GARCH variance multiplier (mean 1). */
  h: number;
  /** ln of the smallest price allowed (one tick). */
  floorLog: number;
}

/** GARCH multiplier cap: keeps one freak draw from blowing the variance up. */
const MAX_H = 25;

/**
 * How far above its start price the model may go, in log space (a millionfold): prices stay well
 * inside what ticks and lots can express, whatever volatility an admin sets.
 */
const MAX_RISE_LOG = Math.log(1e6);

/** A fresh model state at `price` (a float), in the profile's most likely starting regime. */
export function createPriceState(price: number, profile: Profile, minPrice: number): PriceState {
  const start = Math.max(price, minPrice);
  return {
    logPrice: Math.log(start),
    anchor: Math.log(start),
    regime: initialRegime(profile),
    h: 1,
    floorLog: Math.log(minPrice),
  };
}

function initialRegime(profile: Profile): Regime {
  if (profile.regimes.normal.weight > 0) return "normal";
  let best: Regime = "normal";
  for (const r of REGIMES) if (profile.regimes[r].weight > profile.regimes[best].weight) best = r;
  return best;
}

function nextRegime(profile: Profile, current: Regime, rng: Rng): Regime {
  let total = 0;
  for (const r of REGIMES) if (r !== current) total += profile.regimes[r].weight;
  if (total <= 0) return current;
  let pick = rng.uniform() * total;
  for (const r of REGIMES) {
    if (r === current) continue;
    pick -= profile.regimes[r].weight;
    if (pick < 0 && profile.regimes[r].weight > 0) return r;
  }
  // rounding left a sliver: the last regime with weight
  for (let i = REGIMES.length - 1; i >= 0; i--) {
    if (REGIMES[i] !== current && profile.regimes[REGIMES[i]].weight > 0) return REGIMES[i];
  }
  return current;
}

/** Advances the model by `dtSec` seconds (mutating `state`); returns the log return of the step. */
export function stepPrice(state: PriceState, profile: Profile, rng: Rng, dtSec: number): number {
  const stay = profile.regimes[state.regime];
  if (rng.uniform() < 1 - Math.exp(-dtSec / stay.dwellSec)) {
    state.regime = nextRegime(profile, state.regime, rng);
  }
  const spec = REGIME_SPECS[state.regime];
  const s = profile.sigmaPerMinute;
  const sigma = s * spec.volMult * Math.sqrt(state.h * dtSec / 60);
  const z = rng.normal();
  let r = sigma * z - 0.5 * sigma * sigma;
  const jumps = rng.poisson(spec.jumpsPerHour * dtSec / 3600);
  for (let i = 0; i < jumps; i++) r += s * (spec.jumpMean + spec.jumpStd * rng.normal());
  if (profile.meanReversionPerHour > 0) {
    r -= profile.meanReversionPerHour * (dtSec / 3600) * (state.logPrice - state.anchor);
  }
  const before = state.logPrice;
  // a step that is not a number (an absurd volatility) leaves the price where it was
  const next = Number.isFinite(r) ? before + r : before;
  state.logPrice = Math.min(Math.max(next, state.floorLog), state.anchor + MAX_RISE_LOG);
  if (profile.garchA > 0) {
    const alpha = profile.garchA * Math.sqrt(dtSec);
    const persistence = Math.pow(0.5, dtSec / profile.garchHalfLifeSec);
    const beta = Math.max(0, persistence - alpha);
    state.h = Math.min(MAX_H, (1 - alpha - beta) + alpha * z * z * state.h + beta * state.h);
  } else {
    state.h = 1;
  }
  return state.logPrice - before;
}

/**
 * How a cross pair B-Q moves with its legs B-X and Q-X. In a real market arbitrageurs keep
 * ln B-Q = ln B-X - ln Q-X within a few basis points; a cross pair that walked on its own would
 * drift percents away from its legs and leave free money on the table.
 */
export const CROSS = {
  /** Half-life, in seconds, of the gap between the pair and what its legs imply. */
  halfLifeSec: 1.5,
  /** Share of the pair's own step (its profile's noise, regime and jumps) it keeps. */
  ownShare: 0.35,
};

/**
 * One step of a cross pair after {@linkcode stepPrice} moved it from `ownBefore` on its own, and its
 * legs moved the implied log price from `impliedBefore` to `impliedAfter`: the pair takes the legs'
 * move at once and a share of its own, and its gap to the legs closes with a half-life:
 *
 *   x' = x0 + ownShare * (x - x0) + (I' - I),  then  x' += (1 - 0.5^(dt / halfLife)) * (I' - x')
 */
export function followLegs(
  cross: PriceState,
  ownBefore: number,
  impliedBefore: number,
  impliedAfter: number,
  dtSec: number,
  c: typeof CROSS = CROSS,
): void {
  let next = ownBefore + c.ownShare * (cross.logPrice - ownBefore) + (impliedAfter - impliedBefore);
  next += (1 - Math.pow(0.5, dtSec / c.halfLifeSec)) * (impliedAfter - next);
  cross.logPrice = Number.isFinite(next)
    ? Math.min(Math.max(next, cross.floorLog), cross.anchor + MAX_RISE_LOG)
    : ownBefore;
}

/** Current volatility of the model per sqrt(second) (for spreads that widen with volatility). */
export function sigmaPerSqrtSec(state: PriceState, profile: Profile): number {
  return profile.sigmaPerMinute * REGIME_SPECS[state.regime].volMult * Math.sqrt(state.h / 60);
}

/** The model price rounded to a whole number of ticks (at least one tick). */
export function toTicks(state: PriceState, tick: number): number {
  const ticks = Math.round(Math.exp(state.logPrice) / tick);
  return ticks < 1 ? 1 : ticks > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : ticks;
}

export interface SimulatePathOptions {
  seed: string;
  profile: Profile;
  minutes: number;
  intervalMs?: number;
  startPrice?: number;
  /** Tick used to round the closes (default: none, the raw model price). */
  tick?: number;
}

/**
 * Runs the model alone, fast, and returns the close of every minute (the first value is the start).
 * Used by tests and by the realism check of the model without any trading.
 */
export function simulateMinuteCloses(options: SimulatePathOptions): number[] {
  const intervalMs = options.intervalMs ?? 250;
  const stepsPerMinute = Math.round(60_000 / intervalMs);
  const dt = intervalMs / 1000;
  const rng = createRng(options.seed, "model-path");
  const state = createPriceState(options.startPrice ?? 100, options.profile, options.tick ?? 1e-9);
  const closes = [Math.exp(state.logPrice)];
  for (let m = 0; m < options.minutes; m++) {
    for (let i = 0; i < stepsPerMinute; i++) stepPrice(state, options.profile, rng, dt);
    closes.push(options.tick ? toTicks(state, options.tick) * options.tick : Math.exp(state.logPrice));
  }
  return closes;
}
