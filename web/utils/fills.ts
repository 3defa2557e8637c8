/**
 * The fills list of the orders page: pages fetched at different times (the newest page again after
 * each trade, older pages on request) merged into one list, newest first, each fill once.
 * @module
 */
import type { Trade } from "../gateway_client.ts";

/** Newest first: by time, then by trade id (numerically within one engine epoch), as the ledger pages. */
function newerFirst(a: Trade, b: Trade): number {
  if ((a.ts ?? 0) !== (b.ts ?? 0)) return (b.ts ?? 0) - (a.ts ?? 0);
  if (a.tradeId.length !== b.tradeId.length) return b.tradeId.length - a.tradeId.length;
  return a.tradeId < b.tradeId ? 1 : a.tradeId > b.tradeId ? -1 : 0;
}

/** `list` with the fills of `page` added (a fill already there is replaced), newest first. */
export function mergeFills(list: readonly Trade[], page: readonly Trade[]): Trade[] {
  const byId = new Map(list.map((f) => [f.tradeId, f]));
  for (const f of page) byId.set(f.tradeId, f);
  return [...byId.values()].sort(newerFirst);
}
