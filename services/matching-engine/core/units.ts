/**
 * Conversions between a market's decimal strings and the engine's integers (ticks, lots, minor
 * units), done with bigint so they are exact; they run when a market is added and when wire events
 * are written, never in the matching loop.
 * @module
 */
import type { MarketSpec } from "@lib/contracts";
import { decimalPlaces, formatUnitsTrimmed, isDecimalString, parseUnits } from "@lib/money";
import { MAX_SAFE } from "./model.ts";

const SAFE = BigInt(MAX_SAFE);

/** A step size ("0.01") as an integer number of 10^-decimals units. */
export interface Step {
  readonly text: string;
  readonly decimals: number;
  readonly units: bigint;
}

export function step(text: string): Step {
  const decimals = decimalPlaces(text);
  return { text, decimals, units: parseUnits(text, decimals) };
}

/**
 * `text` as a whole number of `s` steps: a number, "off" when not a multiple, "large" when above
 * Number.MAX_SAFE_INTEGER steps.
 */
export function toStepsChecked(text: string, s: Step): number | "off" | "large" {
  const fast = fastSteps(text, s);
  if (fast >= 0) return fast;
  const decimals = Math.max(decimalPlaces(text), s.decimals);
  const value = parseUnits(text, decimals);
  const unit = s.units * 10n ** BigInt(decimals - s.decimals);
  if (value % unit !== 0n) return "off";
  const n = value / unit;
  return n > SAFE ? "large" : Number(n);
}

/**
 * The common case of toStepsChecked without bigint: a plain decimal with at most 15 digits and no
 * more fractional digits than the step. -1 when it does not apply (the caller takes the exact path).
 */
function fastSteps(text: string, s: Step): number {
  if (text.length > 16 || s.units > 999_999_999n) return -1;
  let v = 0;
  let frac = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (frac >= 0) return -1;
      frac = 0;
    } else if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      if (frac >= 0) frac++;
    } else return -1;
  }
  if (frac < 0) frac = 0;
  if (frac > s.decimals || v > 999_999_999_999_999) return -1;
  // v * 10^(s.decimals - frac) is the value in 10^-s.decimals units; exact below 2^53.
  const scaled = v * POW10[s.decimals - frac]!;
  if (!Number.isSafeInteger(scaled)) return -1;
  const unit = Number(s.units);
  return scaled % unit === 0 ? scaled / unit : -1;
}

const POW10: number[] = [];
for (let i = 0, p = 1; i <= 22; i++, p *= 10) POW10.push(p);

/**
 * Minor units (a safe integer, may be negative) as a decimal string without trailing zeros.
 * Exact without bigint: `n % 10^d` and `(n - r) / 10^d` are exact for safe integers.
 */
export function amountText(minor: number, decimals: number): string {
  if (minor === 0) return "0";
  if (!Number.isSafeInteger(minor) || decimals > 22) return formatUnitsTrimmed(BigInt(minor), decimals);
  if (decimals === 0) return String(minor);
  const neg = minor < 0;
  const n = neg ? -minor : minor;
  const p = POW10[decimals]!;
  let r = n % p;
  const int = (n - r) / p;
  let text = String(int);
  if (r !== 0) {
    let d = decimals;
    while (r % 10 === 0) {
      r /= 10;
      d--;
    }
    text += "." + String(r).padStart(d, "0");
  }
  return neg ? "-" + text : text;
}

/** `steps` steps as a decimal string without trailing zeros. */
export function stepsText(steps: number, s: Step): string {
  const units = Number(s.units);
  const v = steps * units;
  if (Number.isSafeInteger(v) && Number.isSafeInteger(units)) return amountText(v, s.decimals);
  return formatUnitsTrimmed(BigInt(steps) * s.units, s.decimals);
}

/**
 * Minor units of a decimal amount: a number, "precise" when it has more fractional digits than the
 * asset, "large" above Number.MAX_SAFE_INTEGER, "bad" when not a plain decimal.
 */
export function toMinor(text: string, decimals: number): number | "precise" | "large" | "bad" {
  if (!isDecimalString(text)) return "bad";
  if (decimalPlaces(text) > decimals) return "precise";
  const v = parseUnits(text, decimals);
  return v > SAFE ? "large" : Number(v);
}

/** The integer form of a market, or an error message naming the field and the allowed value. */
export interface MarketUnits {
  tick: Step;
  lot: Step;
  k: number;
  baseK: number;
  minQty: number;
  maxQty: number;
  minNotional: number;
  startPrice: number;
}

export function marketUnits(
  spec: MarketSpec,
  baseDecimals: number,
  quoteDecimals: number,
): MarketUnits | { field: string; message: string } {
  const fields = ["tickSize", "stepSize", "minQty", "maxQty", "minNotional", "startPrice"] as const;
  for (const f of fields) {
    if (!isDecimalString(spec[f])) {
      return { field: f, message: `${f} must be a decimal number, got "${spec[f]}"` };
    }
  }
  if (spec.base === spec.quote) {
    return { field: "quote", message: `base and quote must differ, both are ${spec.base}` };
  }
  if (spec.symbol !== `${spec.base}-${spec.quote}`) {
    return {
      field: "symbol",
      message: `symbol must be ${spec.base}-${spec.quote} (base-quote), got ${spec.symbol}`,
    };
  }
  const tick = step(spec.tickSize);
  const lot = step(spec.stepSize);
  if (tick.units <= 0n) return { field: "tickSize", message: "tickSize must be greater than 0" };
  if (lot.units <= 0n) return { field: "stepSize", message: "stepSize must be greater than 0" };
  // k = tickSize * stepSize * 10^quoteDecimals must be a whole number of quote minor units.
  const kNum = tick.units * lot.units * 10n ** BigInt(quoteDecimals);
  const kDen = 10n ** BigInt(tick.decimals + lot.decimals);
  if (kNum % kDen !== 0n) {
    return {
      field: "tickSize",
      message: `tickSize x stepSize (${spec.tickSize} x ${spec.stepSize}) must be a whole number of ` +
        `${spec.quote} minor units (10^-${quoteDecimals}); use a coarser tickSize or stepSize`,
    };
  }
  const k = kNum / kDen;
  if (k > SAFE) return { field: "tickSize", message: "tickSize x stepSize is too large" };
  // A lot must be a whole number of base minor units.
  const bNum = lot.units * 10n ** BigInt(baseDecimals);
  const bDen = 10n ** BigInt(lot.decimals);
  if (bNum % bDen !== 0n) {
    return {
      field: "stepSize",
      message: `stepSize ${spec.stepSize} is finer than ${spec.base}'s ${baseDecimals} decimals`,
    };
  }
  const baseK = bNum / bDen;
  if (baseK > SAFE) return { field: "stepSize", message: "stepSize is too large" };
  const minQty = toStepsChecked(spec.minQty, lot);
  if (minQty === "large") return tooManySteps("minQty", spec.stepSize);
  if (typeof minQty !== "number") {
    return { field: "minQty", message: `minQty must be a multiple of stepSize ${spec.stepSize}` };
  }
  const maxQty = toStepsChecked(spec.maxQty, lot);
  if (maxQty === "large") return tooManySteps("maxQty", spec.stepSize);
  if (typeof maxQty !== "number" || maxQty < 1) {
    return { field: "maxQty", message: `maxQty must be a positive multiple of stepSize ${spec.stepSize}` };
  }
  if (maxQty < minQty) return { field: "maxQty", message: `maxQty must be at least minQty ${spec.minQty}` };
  const minNotional = toMinor(spec.minNotional, quoteDecimals);
  if (typeof minNotional !== "number") {
    return {
      field: "minNotional",
      message: `minNotional must have at most ${quoteDecimals} decimals (${spec.quote}) and be a safe amount`,
    };
  }
  const startPrice = toStepsChecked(spec.startPrice, tick);
  if (startPrice === "large") return tooManySteps("startPrice", spec.tickSize);
  if (typeof startPrice !== "number" || startPrice < 1) {
    return {
      field: "startPrice",
      message: `startPrice must be a positive multiple of tickSize ${spec.tickSize}`,
    };
  }
  return { tick, lot, k: Number(k), baseK: Number(baseK), minQty, maxQty, minNotional, startPrice };
}

/** The refusal of a filter that is a multiple of its step, but of more steps than the engine counts. */
function tooManySteps(field: string, stepSize: string): { field: string; message: string } {
  return {
    field,
    message:
      `${field} is too large: at most ${MAX_SAFE} steps of ${stepSize} (use a coarser step or a smaller ${field})`,
  };
}
