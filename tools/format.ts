/**
 * Pure formatting helpers of the tools CLI: colours, tables, times, durations and exact decimal
 * sums. Nothing here touches Redis, the clock or the console, so every piece is unit-tested alone.
 * @module
 */
import { decimalPlaces, formatUnits, parseUnits } from "@lib/money";

/** ANSI styles; every function is the identity when colours are off. */
export interface Style {
  readonly enabled: boolean;
  dim(s: string): string;
  bold(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  magenta(s: string): string;
  cyan(s: string): string;
}

function wrap(open: number, close: number): (s: string) => string {
  return (s) => `\x1b[${open}m${s}\x1b[${close}m`;
}

/** A style that colours when `enabled`, else returns text unchanged. */
export function createStyle(enabled: boolean): Style {
  const id = (s: string) => s;
  return {
    enabled,
    dim: enabled ? wrap(90, 39) : id,
    bold: enabled ? wrap(1, 22) : id,
    red: enabled ? wrap(31, 39) : id,
    green: enabled ? wrap(32, 39) : id,
    yellow: enabled ? wrap(33, 39) : id,
    blue: enabled ? wrap(34, 39) : id,
    magenta: enabled ? wrap(35, 39) : id,
    cyan: enabled ? wrap(36, 39) : id,
  };
}

// deno-lint-ignore no-control-regex
const ANSI_REGEXP = /\x1b\[[0-9;]*m/g;

/** Text without ANSI colour codes. */
export function stripAnsi(s: string): string {
  return s.replace(ANSI_REGEXP, "");
}

/** Printed width of a string (ANSI codes take no room). */
export function visibleWidth(s: string): number {
  return stripAnsi(s).length;
}

function pad(s: string, width: number, align: "left" | "right"): string {
  const gap = Math.max(0, width - visibleWidth(s));
  return align === "right" ? " ".repeat(gap) + s : s + " ".repeat(gap);
}

/**
 * Lays out rows as aligned columns separated by two spaces; `align` gives each column's side
 * (default left). Trailing spaces are trimmed.
 */
export function table(
  header: string[] | undefined,
  rows: string[][],
  align: ("left" | "right")[] = [],
): string[] {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, visibleWidth(cell)));
  return all.map((row) =>
    row.map((cell, i) =>
      i === row.length - 1 && align[i] !== "right" ? cell : pad(cell, widths[i], align[i] ?? "left")
    )
      .join("  ").trimEnd()
  );
}

/** The first `max` characters of a text on one line, with "…" when cut. */
export function excerpt(text: string, max = 80): string {
  const one = text.replace(/\s+/g, " ");
  return one.length <= max ? one : one.slice(0, Math.max(0, max - 1)) + "…";
}

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** "HH:MM:SS.mmm" of an epoch time, in local time (or UTC). */
export function formatClock(ms: number, utc = false): string {
  const d = new Date(ms);
  const [h, m, s, milli] = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${two(h)}:${two(m)}:${two(s)}.${String(milli).padStart(3, "0")}`;
}

/** "YYYY-MM-DD HH:MM:SS" of an epoch time, in local time (or UTC). */
export function formatDateTime(ms: number, utc = false): string {
  const d = new Date(ms);
  const parts = utc
    ? [
      d.getUTCFullYear(),
      d.getUTCMonth() + 1,
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
    ]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  const [y, mo, da, h, mi, s] = parts;
  return `${y}-${two(mo)}-${two(da)} ${two(h)}:${two(mi)}:${two(s)}`;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses "250ms", "5s", "5m", "2h", "1d" (or "1h30m") into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const re = /([0-9]+)(ms|s|m|h|d)/y;
  let total = 0;
  let at = 0;
  const t = text.trim();
  if (t === "") return undefined;
  while (at < t.length) {
    re.lastIndex = at;
    const m = re.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    at = re.lastIndex;
  }
  return total;
}

/** Milliseconds as a short human duration: "850 ms", "12.3 s", "4m 05s", "3h 02m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  const neg = ms < 0 ? "-" : "";
  const a = Math.abs(ms);
  if (a < 1000) return `${neg}${Math.round(a)} ms`;
  if (a < 60_000) return `${neg}${(a / 1000).toFixed(1)} s`;
  if (a < 3_600_000) return `${neg}${Math.floor(a / 60_000)}m ${two(Math.floor(a / 1000) % 60)}s`;
  if (a < 86_400_000) return `${neg}${Math.floor(a / 3_600_000)}h ${two(Math.floor(a / 60_000) % 60)}m`;
  return `${neg}${Math.floor(a / 86_400_000)}d ${two(Math.floor(a / 3_600_000) % 24)}h`;
}

/**
 * Parses `--since`: a duration back from `now` ("5m", "90s", "1h") or an RFC 3339 time
 * ("2026-11-26T12:00:00Z"). Returns epoch milliseconds, or undefined when it is neither.
 */
export function parseSince(text: string, now: number): number | undefined {
  const d = parseDuration(text);
  if (d !== undefined) return now - d;
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim())) {
    return undefined;
  }
  const ms = Date.parse(text.trim().replace(" ", "T"));
  return Number.isFinite(ms) ? ms : undefined;
}

/** A stream id ("ms-seq" or "ms"), normalised to "ms-seq"; undefined when malformed. */
export function normalizeStreamId(text: string): string | undefined {
  const m = /^([0-9]{1,20})(?:-([0-9]{1,20}))?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = BigInt(m[1]);
  const seq = BigInt(m[2] ?? "0");
  // both parts are unsigned 64-bit numbers in Redis
  if (ms > MAX_SEQ || seq > MAX_SEQ) return undefined;
  return `${ms}-${seq}`;
}

const MAX_SEQ = 18446744073709551615n;

/**
 * The largest id strictly before `id`: XREAD returns entries after its cursor, so reading from
 * `idBefore(x)` includes `x` itself. "0-0" stays "0-0".
 */
export function idBefore(id: string): string {
  const [ms, seq] = id.split("-").map((p) => BigInt(p));
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  if (ms > 0n) return `${ms - 1n}-${MAX_SEQ}`;
  return "0-0";
}

/** Milliseconds part of a stream id. */
export function idMs(id: string): number {
  const dash = id.indexOf("-");
  return Number(dash < 0 ? id : id.slice(0, dash));
}

/** Exact sum of decimal strings (any precision), as a decimal string without trailing zeros. */
export function sumDecimals(values: string[]): string {
  const places = Math.max(0, ...values.map(decimalPlaces));
  let total = 0n;
  for (const v of values) total += parseUnits(v, places);
  return trimDecimal(formatUnits(total, places));
}

/** Exact `a - b` of two decimal strings (the result may be negative). */
export function subtractDecimals(a: string, b: string): string {
  const places = Math.max(decimalPlaces(a), decimalPlaces(b));
  return trimDecimal(formatUnits(parseUnits(a, places) - parseUnits(b, places), places));
}

/** "1.500" -> "1.5", "2.00" -> "2". */
export function trimDecimal(s: string): string {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/**
 * `part / whole` in basis points with two decimals, computed on integers ("12.34"). Undefined when
 * `whole` is zero.
 */
export function ratioBps(part: string, whole: string): string | undefined {
  const places = Math.max(decimalPlaces(part), decimalPlaces(whole));
  const p = parseUnits(part.replace(/^-/, ""), places);
  const w = parseUnits(whole, places);
  if (w === 0n) return undefined;
  // basis points x 100, rounded half up
  const scaled = (p * 1_000_000n * 2n + w) / (w * 2n);
  return (part.startsWith("-") ? "-" : "") + formatUnits(scaled, 2);
}

/**
 * Decimal texts padded to one number of fractional digits, so that their points line up: with
 * zeros (`65000.5` -> `65000.50`, as prices and sizes are shown at their step) or, with `pad: " "`,
 * with spaces.
 */
export function alignDecimals(values: string[], pad: "0" | " " = "0"): string[] {
  const fracs = values.map((v) => (v.includes(".") ? v.length - v.indexOf(".") - 1 : 0));
  const maxFrac = Math.max(0, ...fracs);
  return values.map((v, i) => {
    const f = fracs[i];
    if (maxFrac === 0 || f === maxFrac) return v;
    return (f === 0 ? v + (pad === "0" ? "." : " ") : v) + pad.repeat(maxFrac - f);
  });
}

/** Nearest-rank percentile (p in 0..100) of a sorted array; undefined when empty. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Milliseconds with a sensible precision: "0.42 ms", "12.3 ms", "1234 ms". */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}
