import { z } from "zod";
import {
  Asset,
  ClientOrderId,
  DecimalString,
  EpochMs,
  OrderId,
  OrderStatus,
  OrderType,
  Side,
  SignedDecimalString,
  StpMode,
  Symbol,
  TimeInForce,
  UserId,
} from "./common.ts";
import { MarketSpec } from "./markets.ts";

/** The original Kalency's OrderAck, extended. Decimals are strings. */
export const OrderAck = z.object({
  orderId: OrderId,
  clientOrderId: ClientOrderId.optional(),
  userId: UserId,
  symbol: Symbol,
  side: Side,
  type: OrderType,
  timeInForce: TimeInForce,
  postOnly: z.boolean(),
  stp: StpMode,
  status: OrderStatus,
  /** Limit price; absent for MARKET. */
  price: DecimalString.optional(),
  /** Ordered base quantity; for a MARKET BUY by quote amount, what was bought. */
  qty: DecimalString,
  quoteQty: DecimalString.optional(),
  filledQty: DecimalString,
  remainingQty: DecimalString,
  /** Quote spent or received so far (sum of price x qty over fills). */
  filledQuote: DecimalString,
  /** Volume-weighted average fill price, rounded down to the tick; "0" with no fill. */
  avgPrice: DecimalString,
  /** Why an IOC/FOK/MARKET remainder expired or an STP cancel happened. */
  expireReason: z.string().optional(),
  createdAt: EpochMs,
  ts: EpochMs,
});
export type OrderAck = z.output<typeof OrderAck>;

/** Stable machine-readable rejection reasons. */
export const RejectReason = z.enum([
  "UNKNOWN_SYMBOL",
  "MARKET_PAUSED",
  "INVALID_ORDER",
  "PRICE_OFF_TICK",
  "QTY_OFF_STEP",
  "QTY_TOO_SMALL",
  "QTY_TOO_LARGE",
  "NOTIONAL_TOO_SMALL",
  "PRICE_OUT_OF_BAND",
  "INSUFFICIENT_BALANCE",
  "TOO_MANY_OPEN_ORDERS",
  "POST_ONLY_WOULD_CROSS",
  "UNKNOWN_ORDER",
  "UNKNOWN_ASSET",
  "DUPLICATE_MARKET",
  "AMOUNT_TOO_LARGE",
  /** A deposit amount that is not positive or has more decimals than its asset. */
  "INVALID_AMOUNT",
]);
export type RejectReason = z.output<typeof RejectReason>;

export const Rejection = z.object({
  reason: RejectReason,
  /** A human sentence naming the field and the allowed value. */
  message: z.string(),
  /** The request field the rejection is about (price, qty, quoteQty, symbol, ...). */
  field: z.string().optional(),
});
export type Rejection = z.output<typeof Rejection>;

/** A wallet as the engine holds it. */
export const Balance = z.object({ asset: Asset, free: DecimalString, locked: DecimalString });
export type Balance = z.output<typeof Balance>;
export const WalletView = z.object({ userId: UserId, balances: z.array(Balance), updatedAt: EpochMs });
export type WalletView = z.output<typeof WalletView>;

/** The engine's answer to one command, written to the command's `replyTo` stream. */
export const EngineReply = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    cmdId: z.string(),
    /** place -> the new order's ack; cancel -> the canceled order's ack. */
    order: OrderAck.optional(),
    /** cancelAll -> every canceled order. */
    orders: z.array(OrderAck).optional(),
    /** openAccount/deposit -> the wallet afterwards. */
    wallet: WalletView.optional(),
    market: MarketSpec.optional(),
    /** true when a place with a known clientOrderId returned the original ack instead of a new order. */
    duplicate: z.boolean().optional(),
  }),
  z.object({ ok: z.literal(false), cmdId: z.string() }).extend(Rejection.shape),
]);
export type EngineReply = z.output<typeof EngineReply>;

/** One maker fill. Keeps the original field names, adds both sides explicitly. */
export const Execution = z.object({
  tradeId: z.string(),
  symbol: Symbol,
  /** Per-symbol trade sequence, 1, 2, 3, ... never reused. */
  seq: z.number().int().positive(),
  price: DecimalString,
  qty: DecimalString,
  quoteQty: DecimalString,
  makerOrderId: OrderId,
  makerUserId: UserId,
  takerOrderId: OrderId,
  takerUserId: UserId,
  /** The taker's side; the buyer is the taker when it is BUY. */
  takerSide: Side,
  buyerUserId: UserId,
  sellerUserId: UserId,
  buyOrderId: OrderId,
  sellOrderId: OrderId,
  makerFee: DecimalString,
  takerFee: DecimalString,
  /** Fees are charged in the quote asset. */
  feeAsset: Asset,
  ts: EpochMs,
});
export type Execution = z.output<typeof Execution>;

/** A change in an order's life: NEW, TRADE, CANCELED, EXPIRED, REJECTED. */
export const OrderEvent = z.object({
  event: z.enum(["NEW", "TRADE", "CANCELED", "EXPIRED", "REJECTED"]),
  order: OrderAck,
  /** For TRADE: the execution that caused it. */
  tradeId: z.string().optional(),
  ts: EpochMs,
});
export type OrderEvent = z.output<typeof OrderEvent>;

/** A change to one user's balance of one asset, with the balance after it. */
export const WalletEvent = z.object({
  userId: UserId,
  asset: Asset,
  /** Change to free, and to locked (signed decimals). */
  freeDelta: SignedDecimalString,
  lockedDelta: SignedDecimalString,
  free: DecimalString,
  locked: DecimalString,
  reason: z.enum(["OPEN_ACCOUNT", "DEPOSIT", "LOCK", "UNLOCK", "TRADE", "FEE"]),
  ref: z.string().optional(),
  ts: EpochMs,
});
export type WalletEvent = z.output<typeof WalletEvent>;

/** A price level: [price, total remaining quantity]. Quantity "0" removes the level. */
export const Level = z.tuple([DecimalString, DecimalString]);
export type Level = z.output<typeof Level>;

/** Changed levels of one symbol after one command; `seq` increases by 1 per delta of that symbol. */
export const BookDelta = z.object({
  symbol: Symbol,
  seq: z.number().int().positive(),
  bids: z.array(Level),
  asks: z.array(Level),
  ts: EpochMs,
});
export type BookDelta = z.output<typeof BookDelta>;

/** A full book view (read model kept by the engine in Redis; also the WebSocket snapshot). */
export const BookSnapshot = z.object({
  symbol: Symbol,
  seq: z.number().int().nonnegative(),
  bids: z.array(z.object({ price: DecimalString, qty: DecimalString, orders: z.number().int() })),
  asks: z.array(z.object({ price: DecimalString, qty: DecimalString, orders: z.number().int() })),
  ts: EpochMs,
});
export type BookSnapshot = z.output<typeof BookSnapshot>;
