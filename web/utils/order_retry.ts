/**
 * Which client order id an order from the form goes out with. An order whose outcome is unknown (the
 * engine did not answer in time, the gateway or the network failed on the way back) may have been
 * placed: sending the same order again must reuse its id, so the engine answers with the first order
 * instead of placing a second one. Any other outcome, or a changed order, starts a new id.
 * @module
 */
import type { PlaceOrderRequest } from "../gateway_client.ts";
import { isDecimal } from "./decimal.ts";

/**
 * True when a failure leaves it open whether the order was placed: no answer (`status` undefined) or
 * a server-side failure (5xx: the command may have reached the engine before it). A 4xx placed nothing.
 */
export function outcomeUnknown(status: number | undefined): boolean {
  return status === undefined || status >= 500;
}

export class OrderRetry {
  #pending?: { key: string; clientOrderId: string };

  constructor(private readonly newId: () => string) {}

  /** The id to send `order` with: the unsettled one when it is the same order, else a new one. */
  idFor(order: Omit<PlaceOrderRequest, "clientOrderId">): string {
    const key = keyOf(order);
    if (this.#pending?.key === key) return this.#pending.clientOrderId;
    return this.newId();
  }

  /** Records how the order sent with `clientOrderId` ended: `status` of the failure, or "answered". */
  settle(
    order: Omit<PlaceOrderRequest, "clientOrderId">,
    clientOrderId: string,
    status: number | "answered" | undefined,
  ) {
    this.#pending = status !== "answered" && outcomeUnknown(status)
      ? { key: keyOf(order), clientOrderId }
      : undefined;
  }

  /** True while an order's outcome is unknown (the form says so). */
  get unsettled(): boolean {
    return this.#pending !== undefined;
  }
}

function keyOf(order: Omit<PlaceOrderRequest, "clientOrderId">): string {
  const { symbol, side, type, timeInForce, postOnly } = order;
  const [price, qty, quoteQty] = [order.price, order.qty, order.quoteQty].map(canonical);
  return JSON.stringify([symbol, side, type, timeInForce, postOnly ?? false, price, qty, quoteQty]);
}

/** "0.10" and "0.1", "60300.00" and "60300" are the same amount, so the same order. */
function canonical(amount: string | undefined): string | undefined {
  if (amount === undefined || !isDecimal(amount)) return amount;
  return amount.includes(".") ? amount.replace(/\.?0+$/, "") : amount;
}
