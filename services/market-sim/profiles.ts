/**
 * Volatility regimes and the named profiles an admin can pick. A regime is a state of the market
 * (calm, normal, volatile, crash) with its own volatility multiplier, jump rate and trading activity;
 * a profile says how volatile the market is at base and how its regimes follow each other.
 * @module
 */

export const REGIMES = ["calm", "normal", "volatile", "crash"] as const;
export type Regime = typeof REGIMES[number];

/** What a regime does to the price path, whatever the profile. */
export interface RegimeSpec {
  /** Multiplier of the profile's base volatility. */
  volMult: number;
  /** Poisson rate of price jumps. */
  jumpsPerHour: number;
  /** Mean and standard deviation of a jump's log size, in units of the base one-minute volatility. */
  jumpMean: number;
  jumpStd: number;
  /** Multiplier of the bots' order arrival rates (busy markets trade more). */
  activity: number;
}

export const REGIME_SPECS: Record<Regime, RegimeSpec> = {
  calm: { volMult: 0.5, jumpsPerHour: 0.5, jumpMean: 0, jumpStd: 3, activity: 0.7 },
  normal: { volMult: 1, jumpsPerHour: 1, jumpMean: 0, jumpStd: 4, activity: 1 },
  volatile: { volMult: 2.4, jumpsPerHour: 4, jumpMean: 0, jumpStd: 4, activity: 1.6 },
  crash: { volMult: 4, jumpsPerHour: 120, jumpMean: -3, jumpStd: 2, activity: 2.5 },
};

/** How often a profile visits a regime and how long it stays. */
export interface RegimeWeight {
  /** Relative chance of moving into this regime when the current one ends (0: never). */
  weight: number;
  /** Mean time spent in the regime once entered (exponentially distributed). */
  dwellSec: number;
}

export interface Profile {
  name: string;
  /** Base volatility: standard deviation of one-minute log returns in the normal regime. */
  sigmaPerMinute: number;
  regimes: Record<Regime, RegimeWeight>;
  /** Regime to switch to at once when an admin selects the profile (live, not when replayed). */
  enter?: Regime;
  /**
   * GARCH(1,1) multiplier of the variance, step by step: h' = (1 - alpha - beta) + alpha z^2 h + beta h,
   * with alpha = garchA * sqrt(dt) and alpha + beta = 0.5^(dt / garchHalfLifeSec). 0 turns it off.
   */
  garchA: number;
  garchHalfLifeSec: number;
  /** Ornstein-Uhlenbeck pull of the log price towards its anchor (the start price), per hour. 0: off. */
  meanReversionPerHour: number;
}

const NEVER: RegimeWeight = { weight: 0, dwellSec: 60 };

export const PROFILES: Record<string, Profile> = {
  calm: {
    name: "calm",
    sigmaPerMinute: 0.0005,
    regimes: {
      calm: { weight: 3, dwellSec: 900 },
      normal: { weight: 1, dwellSec: 300 },
      volatile: NEVER,
      crash: NEVER,
    },
    garchA: 0.06,
    garchHalfLifeSec: 60,
    meanReversionPerHour: 0.05,
  },
  normal: {
    name: "normal",
    sigmaPerMinute: 0.0015,
    regimes: {
      calm: { weight: 2, dwellSec: 600 },
      normal: { weight: 4, dwellSec: 600 },
      volatile: { weight: 1, dwellSec: 240 },
      crash: NEVER,
    },
    garchA: 0.08,
    garchHalfLifeSec: 60,
    meanReversionPerHour: 0.02,
  },
  volatile: {
    name: "volatile",
    sigmaPerMinute: 0.003,
    regimes: {
      calm: { weight: 1, dwellSec: 900 },
      normal: { weight: 3, dwellSec: 1200 },
      volatile: { weight: 4, dwellSec: 1500 },
      crash: { weight: 0.3, dwellSec: 45 },
    },
    garchA: 0.1,
    garchHalfLifeSec: 120,
    meanReversionPerHour: 0.02,
  },
  crash: {
    name: "crash",
    sigmaPerMinute: 0.004,
    enter: "crash",
    regimes: {
      calm: NEVER,
      normal: { weight: 1, dwellSec: 600 },
      volatile: { weight: 3, dwellSec: 600 },
      crash: { weight: 0.05, dwellSec: 240 },
    },
    garchA: 0.1,
    garchHalfLifeSec: 60,
    meanReversionPerHour: 0.05,
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES);
export const DEFAULT_PROFILE = "normal";

/** Base per-tick volatility of a profile at a tick interval: the number the original called `volatility`. */
export function volatilityPerTick(profile: Profile, intervalMs: number): number {
  return profile.sigmaPerMinute * Math.sqrt(intervalMs / 60_000);
}

/**
 * The profile for the original's single `volatility` number (standard deviation of one tick's log
 * return at `intervalMs`): the dynamics of `base` (default: normal) scaled to that level. 0 is a flat
 * price, as in the original.
 */
export function customProfile(
  volatility: number,
  intervalMs: number,
  base: Profile = PROFILES.normal,
): Profile {
  return {
    ...base,
    name: base.name === "normal" ? "custom" : `${base.name}-custom`,
    enter: undefined,
    sigmaPerMinute: volatility / Math.sqrt(intervalMs / 60_000),
  };
}

/** Looks a profile up by name, case-insensitively. */
export function findProfile(name: string): Profile | undefined {
  return PROFILES[name.trim().toLowerCase()];
}
