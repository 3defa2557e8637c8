/**
 * Defaults for a market an admin lists without giving its filters (`POST /v1/admin/symbols/{symbol}/ensure`):
 * a start price from the prices of the listed markets, and a tick and step that fit that price and
 * the quote asset's minor units. Pure: the route hands in the markets and their prices.
 * @module
 */
import { DEFAULT_ASSETS } from "@lib/contracts";
import { decimalPlaces, formatUnitsTrimmed, parseUnits } from "@lib/money";

/** A listed market and the price it trades at (its last trade, else its start price). */
export interface PricedMarket {
  base: string;
  quote: string;
  price: string;
}

/** An exact positive fraction. */
interface Ratio {
  num: bigint;
  den: bigint;
}

/** An exact ratio from a decimal price (undefined for zero or less). */
export function priceRatio(price: string): Ratio | undefined {
  const d = decimalPlaces(price);
  const num = parseUnits(price, d);
  return num > 0n ? { num, den: 10n ** BigInt(d) } : undefined;
}

/**
 * The price of `base` in `quote` implied by the listed markets: the product of the rates along the
 * shortest chain of markets from one asset to the other (a market can be crossed either way), or
 * undefined when no chain joins them. ETH-BTC from ETH-USD and BTC-USD is ETH-USD / BTC-USD.
 */
export function impliedPrice(
  base: string,
  quote: string,
  markets: readonly PricedMarket[],
): Ratio | undefined {
  const edges = new Map<string, { to: string; rate: Ratio }[]>();
  const edge = (from: string, to: string, rate: Ratio) => {
    const list = edges.get(from);
    if (list) list.push({ to, rate });
    else edges.set(from, [{ to, rate }]);
  };
  for (const m of markets) {
    const r = priceRatio(m.price);
    if (!r) continue;
    edge(m.base, m.quote, r);
    edge(m.quote, m.base, { num: r.den, den: r.num });
  }
  // breadth first: the fewest markets, so the least rounding carried over from their prices
  const seen = new Map<string, Ratio>([[base, { num: 1n, den: 1n }]]);
  let frontier = [base];
  while (frontier.length > 0 && !seen.has(quote)) {
    const next: string[] = [];
    for (const asset of frontier) {
      const at = seen.get(asset)!;
      for (const { to, rate } of edges.get(asset) ?? []) {
        if (seen.has(to)) continue;
        seen.set(to, { num: at.num * rate.num, den: at.den * rate.den });
        next.push(to);
      }
    }
    frontier = next;
  }
  return base === quote ? undefined : seen.get(quote);
}

/** Digits before the point of a positive ratio, as floor(log10) + 1 (0.049 -> -1, 150 -> 3). */
function integerDigits(r: Ratio): number {
  const scale = 40;
  const scaled = (r.num * 10n ** BigInt(scale)) / r.den;
  return scaled === 0n ? -scale : scaled.toString().length - scale;
}

export interface MarketDefaults {
  startPrice: string;
  tickSize: string;
  stepSize: string;
}

/** Significant digits a default tick gives the start price. */
const PRICE_DIGITS = 5;
/** Most decimals of a default step size (0.0001). */
const MAX_STEP_DECIMALS = 4;

/** The decimals of an asset as the engine has them by default (8 for an asset it does not know). */
export function assetDecimals(code: string): number {
  return DEFAULT_ASSETS.find((a) => a.code === code)?.decimals ?? 8;
}

function unitText(decimals: number): string {
  return decimals === 0 ? "1" : `0.${"0".repeat(decimals - 1)}1`;
}

/**
 * Tick, step and start price for a market at `price` (an exact ratio) whose quote asset has
 * `quoteDecimals`: the tick gives the price about five significant digits, and tick x step stays a
 * whole number of quote minor units, as the engine requires (so the step gets the decimals the tick
 * leaves, at most four). Undefined when the price is below one minor unit of the quote.
 */
export function defaultsForPrice(
  price: Ratio,
  quoteDecimals: number,
  given: {
    /** Decimals the tick must have at least (those of a start price given as is). */
    minTickDecimals?: number;
    /** The step size's decimals when the step is given: the tick leaves room for them. */
    stepDecimals?: number;
  } = {},
): MarketDefaults | undefined {
  const wanted = Math.max(given.minTickDecimals ?? 0, PRICE_DIGITS - integerDigits(price));
  const most = quoteDecimals - (given.stepDecimals ?? 0);
  const tickDecimals = Math.max(0, Math.min(most, wanted));
  const scale = 10n ** BigInt(tickDecimals);
  // rounded to the nearest tick
  const ticks = (price.num * scale * 2n + price.den) / (price.den * 2n);
  if (ticks === 0n) return undefined;
  return {
    startPrice: formatUnitsTrimmed(ticks, tickDecimals),
    tickSize: unitText(tickDecimals),
    stepSize: unitText(Math.max(0, Math.min(MAX_STEP_DECIMALS, quoteDecimals - tickDecimals))),
  };
}

/** The step that fits a given tick on a quote asset with `quoteDecimals` (at most four decimals). */
export function stepForTick(tickSize: string, quoteDecimals: number): string {
  return unitText(Math.max(0, Math.min(MAX_STEP_DECIMALS, quoteDecimals - decimalPlaces(tickSize))));
}
