/**
 * Pure conversions from stream messages to PostgreSQL rows (JSON objects keyed by column name), and
 * the checks that keep a batch from failing on a value a column cannot hold.
 * @module
 */
import type { Execution, OrderEvent } from "@lib/contracts";
import { postingsForWalletEvent } from "@lib/ledger";
import type { Posting } from "@lib/ledger";
import type { WalletEvent } from "@lib/contracts";

const ZERO_REGEXP = /^0(\.0*)?$/;
/** What fits a numeric(38, 18) column: at most 20 integer and 18 fractional digits. */
const NUMERIC_38_18_REGEXP = /^(0|[1-9][0-9]{0,19})(\.[0-9]{1,18})?$/;
/** 9999-12-31T23:59:59.999Z: later timestamps do not print as ISO 8601. */
const MAX_TS = 253_402_300_799_999;

function badText(value: string): boolean {
  return value.includes("\0") || !value.isWellFormed();
}

/**
 * Why an execution cannot be stored as a `trade_ledger` row (out of a column's range, a zero price
 * or quantity, text PostgreSQL refuses), or undefined when it can. Checked before writing, so one bad
 * entry is dead-lettered instead of failing its whole batch forever.
 */
export function invalidTradeReason(e: Execution): string | undefined {
  for (
    const [name, value] of [
      ["price", e.price],
      ["qty", e.qty],
      ["quoteQty", e.quoteQty],
      ["makerFee", e.makerFee],
      ["takerFee", e.takerFee],
    ] as const
  ) {
    if (!NUMERIC_38_18_REGEXP.test(value)) {
      return `${name} "${value}" does not fit the ledger's numeric(38,18) (at most 20 integer and 18 decimal digits)`;
    }
  }
  if (ZERO_REGEXP.test(e.price) || ZERO_REGEXP.test(e.qty)) return "price and qty must be greater than zero";
  if (e.ts > MAX_TS) return `ts ${e.ts} is after the year 9999`;
  for (
    const [name, value] of [["tradeId", e.tradeId], ["buyOrderId", e.buyOrderId], [
      "sellOrderId",
      e.sellOrderId,
    ]]
  ) {
    if (badText(value)) {
      return `${name} holds a NUL or an unpaired surrogate, which PostgreSQL text cannot store`;
    }
  }
  return undefined;
}

/** The columns of `trade_ledger` in table order: the keys of a {@linkcode TradeRow}. */
export const TRADE_COLUMNS = [
  "trade_id",
  "symbol",
  "buy_user_id",
  "sell_user_id",
  "price",
  "qty",
  "executed_at",
  "seq",
  "quote_qty",
  "base_asset",
  "quote_asset",
  "buy_order_id",
  "sell_order_id",
  "taker_side",
  "maker_fee",
  "taker_fee",
  "fee_asset",
  "fee_account",
  "stream_id",
] as const satisfies readonly (keyof TradeRow)[];

/** A `trade_ledger` row, keyed by column name (for COPY, and as JSON for `json_populate_recordset`). */
export type TradeRow = ReturnType<typeof tradeRow>;

let lastTs = NaN;
let lastIso = "";
/** `ts` as ISO 8601; trades come in bursts of one millisecond, so the last answer is kept. */
function isoTime(ts: number): string {
  if (ts !== lastTs) {
    lastIso = new Date(ts).toISOString();
    lastTs = ts;
  }
  return lastIso;
}

/** A `trade_ledger` row of an execution. */
export function tradeRow(e: Execution, streamId: string, feeAccount: string) {
  const dash = e.symbol.indexOf("-");
  const noFee = ZERO_REGEXP.test(e.makerFee) && ZERO_REGEXP.test(e.takerFee);
  return {
    trade_id: e.tradeId,
    symbol: e.symbol,
    buy_user_id: e.buyerUserId,
    sell_user_id: e.sellerUserId,
    price: e.price,
    qty: e.qty,
    executed_at: isoTime(e.ts),
    seq: e.seq,
    quote_qty: e.quoteQty,
    base_asset: e.symbol.slice(0, dash),
    quote_asset: e.symbol.slice(dash + 1),
    buy_order_id: e.buyOrderId,
    sell_order_id: e.sellOrderId,
    taker_side: e.takerSide,
    maker_fee: e.makerFee,
    taker_fee: e.takerFee,
    fee_asset: e.feeAsset,
    fee_account: noFee ? null : feeAccount,
    stream_id: streamId,
  };
}

/** True when two rows describe the same trade (where they came from in the stream aside). */
export function sameTrade(a: TradeRow, b: TradeRow): boolean {
  for (const k of Object.keys(a) as (keyof TradeRow)[]) {
    if (k !== "stream_id" && a[k] !== b[k]) return false;
  }
  return true;
}

/** The funding postings of a batch of wallet events (most events give none). */
export function fundingPostings(batch: readonly { id: string; value: WalletEvent }[]): Posting[] {
  return batch.flatMap((b) => postingsForWalletEvent(b.value, b.id));
}

/** A stream id as a fixed-width string that sorts like the id ("1764-3" -> "000000000001764-0000000003"). */
export function streamVersion(id: string): string {
  const [entryId, index] = id.split("/");
  const [ms, seq = "0"] = entryId.split("-");
  const base = `${ms.padStart(15, "0")}-${seq.padStart(10, "0")}`;
  // a message of a packed entry (`<id>/<index>`, see messageId in @lib/redis) sorts after the ones before it
  return index === undefined ? base : `${base}-${index.padStart(7, "0")}`;
}

/** The two numeric parts of a stream id. */
export function splitStreamId(id: string): { ms: string; seq: string } {
  const [ms, seq = "0"] = id.split("-");
  return { ms, seq };
}

/** The columns of `order_events` in table order: the keys of an {@linkcode OrderEventRow}. */
export const ORDER_EVENT_COLUMNS = [
  "stream_id",
  "order_id",
  "event",
  "status",
  "trade_id",
  "at",
  "body",
] as const satisfies readonly (keyof OrderEventRow)[];

/** An `order_events` row, keyed by column name; `body` is the order (its JSON text for COPY). */
export type OrderEventRow = ReturnType<typeof orderEventRow>;

/** The `order_events` row of an order event that came as stream message `streamId`. */
export function orderEventRow(e: OrderEvent, streamId: string) {
  return {
    stream_id: streamId,
    order_id: e.order.orderId,
    event: e.event,
    status: e.order.status,
    trade_id: e.tradeId ?? null,
    at: isoTime(e.ts),
    body: e.order,
  };
}

/** The `orders` row of an order's latest event (`streamId`: where that event came from). */
export function orderRow(e: OrderEvent, streamId: string) {
  const a = e.order;
  return {
    order_id: a.orderId,
    client_order_id: a.clientOrderId ?? null,
    user_id: a.userId,
    symbol: a.symbol,
    side: a.side,
    type: a.type,
    time_in_force: a.timeInForce,
    price: a.price ?? null,
    qty: a.qty,
    quote_qty: a.quoteQty ?? null,
    filled_qty: a.filledQty,
    filled_quote: a.filledQuote,
    avg_price: a.avgPrice,
    status: a.status,
    expire_reason: a.expireReason ?? null,
    created_at: new Date(a.createdAt).toISOString(),
    updated_at: isoTime(a.ts),
    version: streamVersion(streamId),
  };
}

/** The latest event per order in a batch (later entries win), for the `orders` upsert. */
export function latestPerOrder(
  batch: readonly { id: string; value: OrderEvent }[],
): { id: string; value: OrderEvent }[] {
  const byOrder = new Map<string, { id: string; value: OrderEvent }>();
  for (const b of batch) byOrder.set(b.value.order.orderId, b);
  return [...byOrder.values()];
}
