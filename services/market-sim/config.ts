/**
 * The market simulator's settings, parsed from the environment by main.ts.
 * @module
 */
import { z } from "zod";
import { BaseConfig, DEFAULT_PORTS, EnvBool, Port } from "@lib/config";
import { SYMBOL_REGEXP } from "@lib/contracts";
import type { BotPopulation } from "./bots.ts";
import { DEFAULT_BOT_PARAMS, DEFAULT_POPULATION } from "./bots.ts";
import { DEFAULT_PROFILE, PROFILE_NAMES } from "./profiles.ts";

const Count = z.coerce.number().int().min(0).max(1000);
const Rate = z.coerce.number().min(0).max(1000);

/** "BTC-USD, eth-usd" -> ["BTC-USD", "ETH-USD"]. */
const SymbolList = z.string().transform((text, ctx) => {
  const symbols = text.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
  const bad = symbols.filter((s) => !SYMBOL_REGEXP.test(s));
  if (bad.length || symbols.length === 0) {
    ctx.addIssue({
      code: "custom",
      message: `must be BASE-QUOTE symbols separated by commas, like "BTC-USD,ETH-USD"; bad: ${
        bad.join(", ") || "(empty)"
      }`,
    });
    return z.NEVER;
  }
  return [...new Set(symbols)];
});

export const SimConfig = BaseConfig.extend({
  KALENCY_SIM_PORT: Port.default(DEFAULT_PORTS.KALENCY_SIM_PORT),
  /** One seed makes a run reproducible (ticks and bot orders). */
  KALENCY_SEED: z.string().min(1).max(200).default("kalency"),
  KALENCY_SIM_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  /** Unset: the engine's markets (keys.markets), else the default markets. */
  KALENCY_SIM_SYMBOLS: SymbolList.optional(),
  KALENCY_SIM_START_ON_BOOT: EnvBool.default(true),
  KALENCY_SIM_PROFILE: z.string().trim().toLowerCase().refine((p) => PROFILE_NAMES.includes(p), {
    message: `must be one of ${PROFILE_NAMES.join(", ")}`,
  }).default(DEFAULT_PROFILE),
  KALENCY_SIM_MARKET_MAKERS: Count.default(DEFAULT_POPULATION.marketMakers.count),
  KALENCY_SIM_MARKET_MAKER_RATE: Rate.default(DEFAULT_POPULATION.marketMakers.ratePerSec),
  KALENCY_SIM_NOISE_TRADERS: Count.default(DEFAULT_POPULATION.noiseTraders.count),
  KALENCY_SIM_NOISE_TRADER_RATE: Rate.default(DEFAULT_POPULATION.noiseTraders.ratePerSec),
  KALENCY_SIM_MOMENTUM_TRADERS: Count.default(DEFAULT_POPULATION.momentumTraders.count),
  KALENCY_SIM_MOMENTUM_TRADER_RATE: Rate.default(DEFAULT_POPULATION.momentumTraders.ratePerSec),
  KALENCY_SIM_MAKER_LEVELS: z.coerce.number().int().min(1).max(20).default(DEFAULT_BOT_PARAMS.makerLevels),
  /** Open orders each bot keeps at most over all symbols; keep it under the engine's KALENCY_MAX_OPEN_ORDERS. */
  KALENCY_SIM_MAX_OPEN_ORDERS: z.coerce.number().int().min(2).max(1_000_000).default(
    DEFAULT_BOT_PARAMS.maxOpenOrders,
  ),
  /** Approximate cap (XADD MAXLEN ~) of the tick stream. */
  KALENCY_SIM_TICKS_MAXLEN: z.coerce.number().int().positive().default(100_000),
  KALENCY_GATEWAY_URL: z.string().regex(/^https?:\/\//, "must be an http(s):// URL").default(
    "http://127.0.0.1:8080",
  ),
  /** Password of every bot account; unset: derived from the seed and the bot's name. */
  KALENCY_BOT_PASSWORD: z.string().min(8, "must be at least 8 characters").max(256).optional(),
});
export type SimConfig = z.output<typeof SimConfig>;

/** The bot population a config asks for. */
export function populationOf(config: SimConfig): BotPopulation {
  return {
    marketMakers: {
      count: config.KALENCY_SIM_MARKET_MAKERS,
      ratePerSec: config.KALENCY_SIM_MARKET_MAKER_RATE,
    },
    noiseTraders: {
      count: config.KALENCY_SIM_NOISE_TRADERS,
      ratePerSec: config.KALENCY_SIM_NOISE_TRADER_RATE,
    },
    momentumTraders: {
      count: config.KALENCY_SIM_MOMENTUM_TRADERS,
      ratePerSec: config.KALENCY_SIM_MOMENTUM_TRADER_RATE,
    },
  };
}
