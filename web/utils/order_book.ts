/**
 * The browser's copy of one order book: a snapshot, then deltas applied in `seq` order. A delta whose
 * `seq` is not the next one means something was missed, and the caller must resynchronise from a new
 * snapshot (the book is never patched across a gap). Prices and quantities stay decimal strings.
 * @module
 */
import {
  addDecimal,
  compareDecimal,
  divDecimal,
  isZero,
  mulDecimal,
  roundPlaces,
  subDecimal,
} from "./decimal.ts";

/** [price, quantity] as the gateway sends levels in deltas. */
export type LevelTuple = [string, string];

export interface BookSnapshotLike {
  symbol: string;
  seq: number;
  bids: { price: string; qty: string }[] | LevelTuple[];
  asks: { price: string; qty: string }[] | LevelTuple[];
}

export interface BookDeltaLike {
  symbol: string;
  seq: number;
  bids: LevelTuple[];
  asks: LevelTuple[];
}

export interface BookState {
  symbol: string;
  seq: number;
  /** price -> quantity */
  bids: Map<string, string>;
  asks: Map<string, string>;
}

/** One displayed level with its running total (for depth bars). */
export interface DepthLevel {
  price: string;
  qty: string;
  /** Share of the largest running total on either side, 0..1 (display only). */
  depth: number;
}

function toMap(levels: BookSnapshotLike["bids"]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of levels) {
    const [price, qty] = Array.isArray(l) ? l : [l.price, l.qty];
    if (!isZero(qty)) out.set(price, qty);
  }
  return out;
}

/** A book state from a snapshot. */
export function bookFromSnapshot(snapshot: BookSnapshotLike): BookState {
  return {
    symbol: snapshot.symbol,
    seq: snapshot.seq,
    bids: toMap(snapshot.bids),
    asks: toMap(snapshot.asks),
  };
}

export type DeltaResult = "applied" | "stale" | "gap";

/**
 * Applies a delta in place. "stale": already contained in the state (seq <= state.seq), ignored.
 * "gap": one or more deltas were missed; the state is unchanged and must be rebuilt from a snapshot.
 */
export function applyDelta(book: BookState, delta: BookDeltaLike): DeltaResult {
  if (delta.seq <= book.seq) return "stale";
  if (delta.seq !== book.seq + 1) return "gap";
  for (const [price, qty] of delta.bids) {
    if (isZero(qty)) book.bids.delete(price);
    else book.bids.set(price, qty);
  }
  for (const [price, qty] of delta.asks) {
    if (isZero(qty)) book.asks.delete(price);
    else book.asks.set(price, qty);
  }
  book.seq = delta.seq;
  return "applied";
}

/** Best `depth` levels of each side (bids high to low, asks low to high) with depth-bar shares. */
export function topLevels(book: BookState, depth: number): { bids: DepthLevel[]; asks: DepthLevel[] } {
  const bids = [...book.bids].sort((a, b) => compareDecimal(b[0], a[0])).slice(0, depth);
  const asks = [...book.asks].sort((a, b) => compareDecimal(a[0], b[0])).slice(0, depth);
  // Running totals as floats: they only set bar widths.
  const running = (side: [string, string][]) => {
    let sum = 0;
    return side.map(([, q]) => (sum += Number(q)));
  };
  const bidTotals = running(bids), askTotals = running(asks);
  const max = Math.max(bidTotals.at(-1) ?? 0, askTotals.at(-1) ?? 0) || 1;
  return {
    bids: bids.map(([price, qty], i) => ({ price, qty, depth: bidTotals[i] / max })),
    asks: asks.map(([price, qty], i) => ({ price, qty, depth: askTotals[i] / max })),
  };
}

/** Best bid and ask prices, when present. */
export function bestPrices(book: BookState): { bid?: string; ask?: string } {
  let bid: string | undefined, ask: string | undefined;
  for (const p of book.bids.keys()) if (bid === undefined || compareDecimal(p, bid) > 0) bid = p;
  for (const p of book.asks.keys()) if (ask === undefined || compareDecimal(p, ask) < 0) ask = p;
  return { bid, ask };
}

/**
 * The spread, and its percentage of the mid price as `tools book` gives it (spread × 200 / (bid +
 * ask)), rounded half up to 3 places for display: 0.00975% reads 0.010%, not 0.009%.
 */
export function spreadOf(
  bid: string | undefined,
  ask: string | undefined,
): { spread: string; spreadPct: string } | undefined {
  if (!bid || !ask) return undefined;
  const spread = subDecimal(ask, bid);
  return {
    spread,
    spreadPct: roundPlaces(divDecimal(mulDecimal(spread, "200"), addDecimal(bid, ask), 8), 3),
  };
}
