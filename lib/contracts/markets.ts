import { z } from "zod";
import { Asset, DecimalString, Symbol } from "./common.ts";

export const AssetSpec = z.object({
  code: Asset,
  /** Fractional digits of the asset's minor unit; balances are integers of 10^-decimals. */
  decimals: z.number().int().min(0).max(18),
});
export type AssetSpec = z.output<typeof AssetSpec>;

export const MarketStatus = z.enum(["TRADING", "PAUSED"]);
export type MarketStatus = z.output<typeof MarketStatus>;

/** A market as Binance publishes its filters: price tick, quantity step, minimums. */
export const MarketSpec = z.object({
  symbol: Symbol,
  base: Asset,
  quote: Asset,
  tickSize: DecimalString,
  stepSize: DecimalString,
  minQty: DecimalString,
  maxQty: DecimalString,
  minNotional: DecimalString,
  status: MarketStatus.default("TRADING"),
  /** Reference price the simulator starts from and the price band uses before the first trade. */
  startPrice: DecimalString,
});
export type MarketSpec = z.output<typeof MarketSpec>;

/** Assets known by default. USD carries 6 decimals so that every notional of the default markets is exact. */
export const DEFAULT_ASSETS: AssetSpec[] = [
  { code: "USD", decimals: 6 },
  { code: "BTC", decimals: 8 },
  { code: "ETH", decimals: 8 },
];

/** The original Kalency's markets, with realistic filters and start prices. */
export const DEFAULT_MARKETS: MarketSpec[] = [
  {
    symbol: "BTC-USD",
    base: "BTC",
    quote: "USD",
    tickSize: "0.01",
    stepSize: "0.0001",
    minQty: "0.0001",
    maxQty: "1000",
    minNotional: "5",
    status: "TRADING",
    startPrice: "65000",
  },
  {
    symbol: "ETH-USD",
    base: "ETH",
    quote: "USD",
    tickSize: "0.01",
    stepSize: "0.001",
    minQty: "0.001",
    maxQty: "10000",
    minNotional: "5",
    status: "TRADING",
    startPrice: "3200",
  },
  {
    symbol: "BTC-ETH",
    base: "BTC",
    quote: "ETH",
    tickSize: "0.0001",
    stepSize: "0.001",
    minQty: "0.001",
    maxQty: "1000",
    minNotional: "0.01",
    status: "TRADING",
    startPrice: "20.3125",
  },
];

/** The default starting balance of a new user, in every asset of the default markets. */
export const DEFAULT_START_BALANCES: Record<string, string> = { USD: "100000", BTC: "2", ETH: "30" };
