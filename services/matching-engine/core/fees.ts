/**
 * Exact fee arithmetic on plain numbers.
 *
 * Fees are basis points of a notional in quote minor units, rounded UP to the minor unit. A notional
 * can be as large as Number.MAX_SAFE_INTEGER, so `notional * bps` (up to ~2^66) is never formed:
 * the notional is split as `n = q * 10000 + r` and `n * bps / 10000 = q * bps + r * bps / 10000`,
 * where `q * bps <= n` and `r * bps < 10^8` are both exact.
 *
 * Each order carries a fee accumulator W = sum(notional_i * bps_i) over its fills, held as
 * `(wq, wr)` with W = wq * 10000 + wr and 0 <= wr < 10000. The fee of the order so far is
 * ceil(W / 10000); the fee of one fill is the increase of that ceiling. So an order pays exactly
 * ceil(its total fee) however its quantity is split into fills, and the sum of per-fill fees can
 * never exceed what was locked for the whole order (see docs/money.md).
 * @module
 */

/** Basis points in one whole. */
export const BPS = 10_000;

/** ceil(W / 10000) for W = wq * 10000 + wr. */
export function feeCeil(wq: number, wr: number): number {
  return wr > 0 ? wq + 1 : wq;
}

/** The fee of adding `notional * bps` to the accumulator (wq, wr): ceil(W'/10^4) - ceil(W/10^4). */
export function feeDelta(wq: number, wr: number, notional: number, bps: number): number {
  if (bps === 0 || notional === 0) return 0;
  const r = notional % BPS;
  const q = (notional - r) / BPS;
  const sum = wr + r * bps;
  const carryR = sum % BPS;
  const wq2 = wq + q * bps + (sum - carryR) / BPS;
  return feeCeil(wq2, carryR) - feeCeil(wq, wr);
}

/** The fee of a single notional on its own: ceil(notional * bps / 10000). */
export function feeOf(notional: number, bps: number): number {
  return feeDelta(0, 0, notional, bps);
}

/** The accumulator after adding `notional * bps`: returns the new wq and writes wr into `out[0]`. */
export function feeAccumulate(
  wq: number,
  wr: number,
  notional: number,
  bps: number,
  out: Float64Array,
): number {
  if (bps === 0 || notional === 0) {
    out[0] = wr;
    return wq;
  }
  const r = notional % BPS;
  const q = (notional - r) / BPS;
  const sum = wr + r * bps;
  const carryR = sum % BPS;
  out[0] = carryR;
  return wq + q * bps + (sum - carryR) / BPS;
}
