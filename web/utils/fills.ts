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

/**
 * Orders with the fills of `trades` that belong to them added to the ones they carry (a live order
 * update carries none: its row keeps what it had), each fill once, oldest first as the history
 * route gives them. Orders no trade touches come back as they were.
 */
export function attachFills<O extends { orderId: string; fills?: Trade[] }>(
  orders: readonly O[],
  trades: readonly Trade[],
): O[] {
  const byOrder = new Map<string, Trade[]>();
  for (const t of trades) {
    for (const id of new Set([t.buyOrderId, t.sellOrderId, t.makerOrderId, t.takerOrderId])) {
      if (id === undefined) continue;
      const list = byOrder.get(id);
      if (list) list.push(t);
      else byOrder.set(id, [t]);
    }
  }
  return orders.map((o) => {
    const found = byOrder.get(o.orderId);
    if (!found) return o;
    const fills = mergeFills(o.fills ?? [], found).reverse();
    return { ...o, fills };
  });
}
