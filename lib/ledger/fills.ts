/**
 * A user's fills read back from `trade_ledger`, as the engine published them. The engine keeps only
 * each user's newest fills in Redis; older pages come from here.
 * @module
 */
import { normalizeDecimal } from "@lib/candles";
import type { Execution } from "@lib/contracts";
import type { Sql } from "@lib/db";

export interface LedgerFillsOptions {
  /** Only fills on this symbol. */
  symbol?: string;
  /** Only fills older than this one (a trade id of the same user): the page after it. */
  before?: string;
  /**
   * Only fills older than this one, given whole (its ts and tradeId set the cursor): it need not be
   * in the ledger yet, as for the oldest fill Redis holds while the ledger writer catches up.
   */
  beforeFill?: { ts: number; tradeId: string };
  /** At most this many, newest first. */
  limit: number;
}

interface TradeRow {
  trade_id: string;
  symbol: string;
  seq: string;
  price: string;
  qty: string;
  quote_qty: string;
  buy_user_id: string;
  sell_user_id: string;
  buy_order_id: string;
  sell_order_id: string;
  taker_side: "BUY" | "SELL";
  maker_fee: string;
  taker_fee: string;
  fee_asset: string;
  executed_at: Date;
}

/** The execution a ledger row was written from: the maker is the side that did not take. */
export function executionOfRow(r: TradeRow): Execution {
  const takerBuys = r.taker_side === "BUY";
  return {
    tradeId: r.trade_id,
    symbol: r.symbol,
    seq: Number(r.seq),
    price: normalizeDecimal(r.price),
    qty: normalizeDecimal(r.qty),
    quoteQty: normalizeDecimal(r.quote_qty),
    makerOrderId: takerBuys ? r.sell_order_id : r.buy_order_id,
    makerUserId: takerBuys ? r.sell_user_id : r.buy_user_id,
    takerOrderId: takerBuys ? r.buy_order_id : r.sell_order_id,
    takerUserId: takerBuys ? r.buy_user_id : r.sell_user_id,
    takerSide: r.taker_side,
    buyerUserId: r.buy_user_id,
    sellerUserId: r.sell_user_id,
    buyOrderId: r.buy_order_id,
    sellOrderId: r.sell_order_id,
    makerFee: normalizeDecimal(r.maker_fee),
    takerFee: normalizeDecimal(r.taker_fee),
    feeAsset: r.fee_asset,
    ts: r.executed_at.getTime(),
  };
}

/**
 * The user's fills (as buyer or seller), newest first. Fills of one millisecond are ordered by trade
 * id, numerically within one engine epoch. Returns undefined when `before` is not a fill of this
 * user in the ledger.
 */
export async function fillsFromLedger(
  sql: Sql,
  userId: string,
  options: LedgerFillsOptions,
): Promise<Execution[] | undefined> {
  let after = sql``;
  if (options.beforeFill !== undefined) {
    const { ts, tradeId } = options.beforeFill;
    after = sql`AND (executed_at, length(trade_id), trade_id) < (${new Date(
      ts,
    )}, ${tradeId.length}, ${tradeId})`;
  } else if (options.before !== undefined) {
    const [cursor] = await sql<{ executed_at: Date; trade_id: string }[]>`
      SELECT executed_at, trade_id FROM trade_ledger
      WHERE trade_id = ${options.before} AND (buy_user_id = ${userId} OR sell_user_id = ${userId})`;
    if (!cursor) return undefined;
    after = sql`AND (executed_at, length(trade_id), trade_id)
      < (${cursor.executed_at}, ${cursor.trade_id.length}, ${cursor.trade_id})`;
  }
  const rows = await sql<TradeRow[]>`
    SELECT trade_id, symbol, seq::text AS seq, price::text AS price, qty::text AS qty,
      quote_qty::text AS quote_qty, buy_user_id, sell_user_id, buy_order_id, sell_order_id, taker_side,
      maker_fee::text AS maker_fee, taker_fee::text AS taker_fee, fee_asset, executed_at
    FROM trade_ledger
    WHERE (buy_user_id = ${userId} OR sell_user_id = ${userId})
      ${options.symbol !== undefined ? sql`AND symbol = ${options.symbol}` : sql``}
      ${after}
    ORDER BY executed_at DESC, length(trade_id) DESC, trade_id DESC
    LIMIT ${Math.max(1, Math.min(Math.trunc(options.limit), 1000))}`;
  return rows.map(executionOfRow);
}

/** Most fills {@linkcode fillsOfOrders} returns in one call. */
export const ORDER_FILLS_LIMIT = 10_000;

/**
 * Every fill of some of a user's orders, oldest first (at most {@linkcode ORDER_FILLS_LIMIT}): the
 * trade ids from the orders' TRADE events in `order_events` (indexed by order), then those trades.
 * A fill whose order event the ledger writer has not written yet is not found; callers merge these
 * with the newest fills Redis holds.
 */
export async function fillsOfOrders(
  sql: Sql,
  userId: string,
  orderIds: readonly string[],
): Promise<Execution[]> {
  if (orderIds.length === 0) return [];
  const rows = await sql<TradeRow[]>`
    SELECT t.trade_id, t.symbol, t.seq::text AS seq, t.price::text AS price, t.qty::text AS qty,
      t.quote_qty::text AS quote_qty, t.buy_user_id, t.sell_user_id, t.buy_order_id, t.sell_order_id,
      t.taker_side, t.maker_fee::text AS maker_fee, t.taker_fee::text AS taker_fee, t.fee_asset, t.executed_at
    FROM trade_ledger t
    WHERE t.trade_id IN (
        SELECT e.trade_id FROM order_events e
        WHERE e.order_id = ANY(${orderIds as string[]}) AND e.trade_id IS NOT NULL
      )
      AND (t.buy_user_id = ${userId} OR t.sell_user_id = ${userId})
    ORDER BY t.executed_at, length(t.trade_id), t.trade_id
    LIMIT ${ORDER_FILLS_LIMIT}`;
  return rows.map(executionOfRow);
}
