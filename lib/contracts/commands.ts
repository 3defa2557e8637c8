import { z } from "zod";
import {
  Asset,
  ClientOrderId,
  Decimal,
  OrderId,
  OrderType,
  Side,
  StpMode,
  Symbol,
  TimeInForce,
  UserId,
} from "./common.ts";
import { MarketSpec, MarketStatus } from "./markets.ts";

/**
 * Fields every engine command carries. The engine's clock is the command's stream entry id (its
 * millisecond part), never the wall clock, so a replay produces byte-identical output.
 */
const CommandBase = {
  /** Sender-chosen id that the reply echoes (a UUID from the gateway). */
  cmdId: z.string().min(1).max(80),
  /** Stream the engine writes the reply to; absent for fire-and-forget senders. */
  replyTo: z.string().min(1).optional(),
};

export const PlaceOrderCommand = z.object({
  type: z.literal("place"),
  ...CommandBase,
  userId: UserId,
  symbol: Symbol,
  side: Side,
  orderType: OrderType,
  timeInForce: TimeInForce.default("GTC"),
  postOnly: z.boolean().default(false),
  /** Limit price (LIMIT only). */
  price: Decimal.optional(),
  /** Base quantity (LIMIT, and MARKET by quantity). */
  qty: Decimal.optional(),
  /** Quote amount to spend (MARKET BUY only). */
  quoteQty: Decimal.optional(),
  clientOrderId: ClientOrderId.optional(),
  stp: StpMode.default("EXPIRE_TAKER"),
});
export type PlaceOrderCommand = z.output<typeof PlaceOrderCommand>;

export const CancelOrderCommand = z.object({
  type: z.literal("cancel"),
  ...CommandBase,
  userId: UserId,
  symbol: Symbol.optional(),
  orderId: OrderId.optional(),
  clientOrderId: ClientOrderId.optional(),
});
export type CancelOrderCommand = z.output<typeof CancelOrderCommand>;

export const CancelAllCommand = z.object({
  type: z.literal("cancelAll"),
  ...CommandBase,
  userId: UserId,
  symbol: Symbol,
});
export type CancelAllCommand = z.output<typeof CancelAllCommand>;

/** Creates the user's wallet with the configured starting balances; idempotent. */
export const OpenAccountCommand = z.object({
  type: z.literal("openAccount"),
  ...CommandBase,
  userId: UserId,
});
export type OpenAccountCommand = z.output<typeof OpenAccountCommand>;

/** Credits (admin funding, bot rebalancing) an amount of an asset to a user. */
export const DepositCommand = z.object({
  type: z.literal("deposit"),
  ...CommandBase,
  userId: UserId,
  asset: Asset,
  amount: Decimal,
});
export type DepositCommand = z.output<typeof DepositCommand>;

export const SetMarketStatusCommand = z.object({
  type: z.literal("setMarketStatus"),
  ...CommandBase,
  symbol: Symbol,
  status: MarketStatus,
});
export type SetMarketStatusCommand = z.output<typeof SetMarketStatusCommand>;

/** Adds a market (or, when it exists, sets it TRADING): the original's `ensure`. */
export const AddMarketCommand = z.object({
  type: z.literal("addMarket"),
  ...CommandBase,
  market: MarketSpec,
});
export type AddMarketCommand = z.output<typeof AddMarketCommand>;

/** Everything on `<prefix>:stream:orders`. */
export const EngineCommand = z.discriminatedUnion("type", [
  PlaceOrderCommand,
  CancelOrderCommand,
  CancelAllCommand,
  OpenAccountCommand,
  DepositCommand,
  SetMarketStatusCommand,
  AddMarketCommand,
]);
export type EngineCommand = z.output<typeof EngineCommand>;
/** What a producer passes in (defaults not yet applied). */
export type EngineCommandInput = z.input<typeof EngineCommand>;
