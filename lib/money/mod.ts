/**
 * Exact decimal arithmetic for money: decimal strings on the wire, integers inside.
 *
 * A value with `decimals` fractional digits is held as an integer count of 10^-decimals units
 * ("minor units"): "65000.25" with 2 decimals is 6500025. Parsing never rounds: a value with more
 * fractional digits than allowed is an error, so nothing is lost silently. No floating point anywhere.
 * @module
 */

const DECIMAL_REGEXP = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** Thrown when a decimal string is malformed or more precise than allowed. */
export class DecimalError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "DecimalError";
  }
}

/** True when `text` is a non-negative plain decimal ("0", "12", "0.5"; not "1e3", "-1", ".5"). */
export function isDecimalString(text: string): boolean {
  return DECIMAL_REGEXP.test(text);
}

/** Number of fractional digits a decimal string carries, ignoring trailing zeros ("1.2300" -> 2). */
export function decimalPlaces(text: string): number {
  const dot = text.indexOf(".");
  if (dot < 0) return 0;
  let end = text.length;
  while (end > dot + 1 && text[end - 1] === "0") end--;
  return end - dot - 1;
}

/**
 * Parses a non-negative decimal string into integer minor units with `decimals` fractional digits.
 * @example parseUnits("65000.25", 2) === 6500025n
 * @throws {DecimalError} when malformed or when it has more than `decimals` significant fractional digits
 */
export function parseUnits(text: string, decimals: number): bigint {
  if (!DECIMAL_REGEXP.test(text)) throw new DecimalError(`"${text}" is not a plain decimal number`);
  const [int, frac = ""] = text.split(".");
  const trimmed = frac.replace(/0+$/, "");
  if (trimmed.length > decimals) {
    throw new DecimalError(`"${text}" has more than ${decimals} decimal places`);
  }
  return BigInt(int + trimmed.padEnd(decimals, "0"));
}

/** Formats integer minor units as a decimal string with exactly `decimals` fractional digits. */
export function formatUnits(units: bigint | number, decimals: number): string {
  let v = typeof units === "number" ? BigInt(units) : units;
  const neg = v < 0n;
  if (neg) v = -v;
  const s = v.toString().padStart(decimals + 1, "0");
  const out = decimals === 0 ? s : `${s.slice(0, s.length - decimals)}.${s.slice(s.length - decimals)}`;
  return neg ? `-${out}` : out;
}

/** Like {@linkcode formatUnits} but drops trailing zeros ("1.50000000" -> "1.5", "2.00" -> "2"). */
export function formatUnitsTrimmed(units: bigint | number, decimals: number): string {
  const s = formatUnits(units, decimals);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/**
 * Converts a decimal string to a whole number of `step`s (ticks or lots), exactly.
 * Returns undefined when the value is not a whole multiple of the step.
 * @example toSteps("65000.25", "0.01") === 6500025
 */
export function toSteps(text: string, step: string): number | undefined {
  const decimals = Math.max(decimalPlaces(text), decimalPlaces(step));
  const value = parseUnits(text, decimals);
  const unit = parseUnits(step, decimals);
  if (unit === 0n || value % unit !== 0n) return undefined;
  const steps = value / unit;
  if (steps > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(steps);
}

/** Compares two decimal strings exactly: negative, 0 or positive as `a` is below, equal to or above `b`. */
export function compareDecimals(a: string, b: string): number {
  const decimals = Math.max(decimalPlaces(a), decimalPlaces(b));
  const x = parseUnits(a, decimals);
  const y = parseUnits(b, decimals);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Converts a whole number of `step`s back to a decimal string with the step's precision. */
export function fromSteps(steps: number | bigint, step: string): string {
  const decimals = decimalPlaces(step);
  return formatUnits(BigInt(steps) * parseUnits(step, decimals), decimals);
}

/** Like {@linkcode fromSteps}, in shortest form ("64909", not "64909.00"). */
export function fromStepsTrimmed(steps: number | bigint, step: string): string {
  const decimals = decimalPlaces(step);
  return formatUnitsTrimmed(BigInt(steps) * parseUnits(step, decimals), decimals);
}

/**
 * `part` as a percent of `whole` (both in the same units), with two decimals rounded half away from
 * zero ("-1.25"); "0.00" when `whole` is 0. The 24h change percent of a ticker, on the server and in
 * the browser.
 */
export function percentText(part: bigint, whole: bigint): string {
  if (whole === 0n) return "0.00";
  const neg = (part < 0n) !== (whole < 0n);
  const p = part < 0n ? -part : part;
  const w = whole < 0n ? -whole : whole;
  const hundredths = (p * 20_000n + w) / (2n * w); // round(p * 10000 / w)
  const text = `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, "0")}`;
  return neg && hundredths !== 0n ? `-${text}` : text;
}
