/**
 * Exact decimal helpers for the browser and the server: comparing, adding and formatting the
 * decimal strings the gateway sends, on bigint, through lib/money. Numbers (floats) appear only where
 * a value is drawn (chart coordinates, depth-bar widths), never where one is shown or sent.
 * @module
 */
import { decimalPlaces, formatUnits, formatUnitsTrimmed, isDecimalString, parseUnits } from "@lib/money";

const SIGNED_REGEXP = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** Signed decimal string -> integer units at `decimals` places (rounds toward zero past them). */
export function toUnits(text: string, decimals: number): bigint {
  const neg = text.startsWith("-");
  const abs = neg ? text.slice(1) : text;
  if (!SIGNED_REGEXP.test(text)) throw new RangeError(`"${text}" is not a decimal number`);
  const [int, frac = ""] = abs.split(".");
  const kept = frac.slice(0, decimals);
  const units = parseUnits(kept ? `${int}.${kept}` : int, decimals);
  return neg ? -units : units;
}

/** True when `text` is a plain non-negative decimal the gateway would accept. */
export const isDecimal: (text: string) => boolean = isDecimalString;

/** -1, 0 or 1, exactly. */
export function compareDecimal(a: string, b: string): number {
  const d = Math.max(decimalPlaces(a), decimalPlaces(b));
  const x = toUnits(a, d), y = toUnits(b, d);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** a + b, exactly, trimmed. */
export function addDecimal(a: string, b: string): string {
  const d = Math.max(decimalPlaces(a), decimalPlaces(b));
  return formatUnitsTrimmed(toUnits(a, d) + toUnits(b, d), d);
}

/** a - b, exactly, trimmed (may be negative). */
export function subDecimal(a: string, b: string): string {
  const d = Math.max(decimalPlaces(a), decimalPlaces(b));
  return formatUnitsTrimmed(toUnits(a, d) - toUnits(b, d), d);
}

/** a × b, exactly, trimmed. */
export function mulDecimal(a: string, b: string): string {
  const da = decimalPlaces(a), db = decimalPlaces(b);
  return formatUnitsTrimmed(toUnits(a, da) * toUnits(b, db), da + db);
}

/** True when the decimal is zero. */
export function isZero(text: string): boolean {
  return /^-?0*(\.0*)?$/.test(text);
}

/**
 * Shows a decimal with exactly the places of `step` ("65000.5" with step "0.01" -> "65000.50");
 * extra places are cut, never rounded up. Thousands get thin separators when `group` is set.
 */
export function formatStep(text: string | undefined, step: string, group = false): string {
  if (text === undefined || text === "") return "—";
  const places = decimalPlaces(step);
  const s = formatUnits(toUnits(text, places), places);
  return group ? groupThousands(s) : s;
}

/**
 * A decimal rounded to `places`, half away from zero ("64868.789", 2 -> "64868.79"; "0.0045", 3 ->
 * "0.005"). For figures that are shown, not computed on: averages and percentages.
 */
export function roundPlaces(text: string, places: number): string {
  const neg = text.startsWith("-");
  const abs = neg ? text.slice(1) : text;
  const d = decimalPlaces(abs);
  if (d <= places) return text;
  const f = 10n ** BigInt(d - places);
  const rounded = (toUnits(abs, d) + f / 2n) / f;
  return (neg && rounded !== 0n ? "-" : "") + formatUnits(rounded, places);
}

/** {@linkcode formatStep} of the value rounded to the step's places (half up) instead of cut. */
export function formatRounded(text: string | undefined, step: string, group = false): string {
  if (text === undefined || text === "") return "—";
  return formatStep(roundPlaces(text, decimalPlaces(step)), step, group);
}

/** Shows a decimal with at most `maxPlaces` places and at least `minPlaces`. */
export function formatPlaces(text: string | undefined, minPlaces: number, maxPlaces = minPlaces): string {
  if (text === undefined || text === "") return "—";
  const s = formatUnits(toUnits(text, maxPlaces), maxPlaces);
  if (maxPlaces === minPlaces) return s;
  const [int, frac] = s.split(".");
  const kept = frac.replace(/0+$/, "").padEnd(minPlaces, "0");
  return kept ? `${int}.${kept}` : int;
}

/** A decimal exactly as it is, shown with at least `minPlaces` places ("100529.76", 0 -> "100529.76"; "2", 4 -> "2.0000"). */
export function formatAmount(text: string | undefined, minPlaces: number): string {
  if (text === undefined || text === "") return "—";
  return formatPlaces(text, minPlaces, Math.max(minPlaces, decimalPlaces(text.replace(/^-/, ""))));
}

/** "1234567.5" -> "1,234,567.5". */
export function groupThousands(text: string): string {
  const neg = text.startsWith("-");
  const [int, frac] = (neg ? text.slice(1) : text).split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (neg ? "-" : "") + grouped + (frac !== undefined ? "." + frac : "");
}

/** A compact volume: 1234567.89 -> "1.23M" (display only). */
export function formatCompact(text: string | undefined): string {
  if (text === undefined || text === "") return "—";
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  const abs = Math.abs(n);
  if (abs >= 1e9) return (n / 1e9).toFixed(2) + "B";
  if (abs >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (abs >= 1e4) return (n / 1e3).toFixed(2) + "K";
  return groupThousands(formatPlaces(text, 0, abs >= 100 ? 2 : 4));
}

/** Rounds a non-negative decimal down to a whole number of `step`s ("1.23456", "0.001" -> "1.234"). */
export function floorToStep(text: string, step: string): string {
  const d = Math.max(decimalPlaces(text), decimalPlaces(step));
  const unit = toUnits(step, d);
  if (unit <= 0n) return text;
  const v = toUnits(text, d);
  return formatUnitsTrimmed((v / unit) * unit, d);
}

/** a / b rounded down to `places` decimals (b > 0). */
export function divDecimal(a: string, b: string, places: number): string {
  const da = decimalPlaces(a), db = decimalPlaces(b);
  const num = toUnits(a, da) * 10n ** BigInt(db + places);
  const den = toUnits(b, db) * 10n ** BigInt(da);
  if (den === 0n) throw new RangeError("division by zero");
  return formatUnitsTrimmed(num / den, places);
}

/** Number of decimal places of a step ("0.001" -> 3). */
export { decimalPlaces };
