import { z } from "zod";
import { DecimalString, EpochMs, Symbol } from "./common.ts";

/** The simulator's model price for a symbol (the original's tick stream, with exact decimals). */
export const Tick = z.object({
  symbol: Symbol,
  price: DecimalString,
  /** Relative change since the previous tick, as a decimal string (may be negative). */
  delta: z.string(),
  volume: DecimalString,
  /** The volatility regime in force (calm, normal, volatile, crash). */
  regime: z.string().optional(),
  ts: EpochMs,
});
export type Tick = z.output<typeof Tick>;

export const TIMEFRAMES = ["1s", "5s", "1m", "5m", "1h", "1d"] as const;
export const Timeframe = z.enum(TIMEFRAMES);
export type Timeframe = z.output<typeof Timeframe>;
export const TIMEFRAME_MS: Record<Timeframe, number> = {
  "1s": 1_000,
  "5s": 5_000,
  "1m": 60_000,
  "5m": 300_000,
  "1h": 3_600_000,
  "1d": 86_400_000,
};

export const Candle = z.object({
  symbol: Symbol,
  timeframe: Timeframe,
  /** Bucket start, ms since epoch, UTC; the bucket is [openTime, openTime + tf). */
  openTime: EpochMs,
  closeTime: EpochMs,
  open: DecimalString,
  high: DecimalString,
  low: DecimalString,
  close: DecimalString,
  volume: DecimalString,
  quoteVolume: DecimalString,
  trades: z.number().int().nonnegative(),
  /** false while the bucket is still forming. */
  closed: z.boolean(),
  source: z.enum(["trade", "index"]).default("trade"),
});
export type Candle = z.output<typeof Candle>;

/**
 * Largest raw volatility (standard deviation of one tick's log return) a control may set: 10 % a
 * tick is already a market in free fall; beyond it the model's numbers stop meaning anything.
 */
export const MAX_SIM_VOLATILITY = 0.1;

/** An admin control for the simulator; every change is a command on `stream:sim-control`. */
export const SimControl = z.discriminatedUnion("action", [
  z.object({ action: z.literal("start"), ts: EpochMs }),
  z.object({ action: z.literal("stop"), ts: EpochMs }),
  z.object({
    action: z.literal("volatility"),
    /** A named profile (calm, normal, volatile, crash) or a raw volatility number per tick. */
    profile: z.string().optional(),
    volatility: z.number().nonnegative().max(MAX_SIM_VOLATILITY).optional(),
    /** One symbol, or all when absent. */
    symbol: z.string().optional(),
    ts: EpochMs,
  }),
  z.object({ action: z.literal("pause"), symbol: z.string(), ts: EpochMs }),
  z.object({ action: z.literal("resume"), symbol: z.string(), ts: EpochMs }),
  z.object({ action: z.literal("ensure"), symbol: z.string(), ts: EpochMs }),
  z.object({
    action: z.literal("bots"),
    kind: z.enum(["marketMakers", "noiseTraders", "momentumTraders"]),
    count: z.number().int().nonnegative().optional(),
    ratePerSec: z.number().nonnegative().optional(),
    ts: EpochMs,
  }),
]);
export type SimControl = z.output<typeof SimControl>;

/** Rolling 24-hour statistics of a symbol, kept by the candle aggregator. */
export const Ticker = z.object({
  symbol: Symbol,
  last: DecimalString,
  open24h: DecimalString,
  high24h: DecimalString,
  low24h: DecimalString,
  volume24h: DecimalString,
  quoteVolume24h: DecimalString,
  /** last - open24h, signed. */
  change24h: z.string(),
  /** Percent change with 2 decimals, signed ("-1.25"). */
  changePct24h: z.string(),
  trades24h: z.number().int().nonnegative(),
  ts: EpochMs,
});
export type Ticker = z.output<typeof Ticker>;
