/**
 * What a bot knows about its own account, as a trading bot on a real exchange keeps it: the balances
 * the engine last reported, what its orders still on their way will take, and its own open orders.
 * Everything here is pure state changed by the bot's decisions and by the engine's answers and events
 * the simulator hands in; no I/O and no clock (times are simulation steps).
 *
 * - Balances are the engine's, from a wallet read (the answer to `openAccount`, or the read model at
 *   start) and then from every wallet event of the bot's user (each carries the balance after it).
 * - An order on its way reserves what it will lock (its seq identifies it) until the engine's answer
 *   arrives: the engine wrote that answer and the wallet events of the same command together, so from
 *   then on the balances seen include it.
 * - Open orders are the ones the bot sent and has not seen close: the answer to the place says whether
 *   the order rests, order events say when it fills, is canceled or expires. A bot cancels only orders
 *   it still believes open, and a cancel that finds the order gone (it filled meanwhile) closes it in
 *   the bot's view too; it is never sent again.
 * @module
 */
import type { OrderAck, OrderEvent, Side } from "@lib/contracts";
import { baseAmount, type Market, quoteAmount, toUnits } from "./market.ts";

/** What a bot holds as far as it knows, in 10^-18 units of each asset. */
export class Funds {
  /** False until the first wallet read. */
  known = false;
  /** Holdings (free + locked) at the first read: the inventory a market maker steers back to. */
  readonly reference = new Map<string, bigint>();
  #free = new Map<string, bigint>();
  #locked = new Map<string, bigint>();
  /** Reservations of orders on their way, by order seq, in the order they were made. */
  #reserved = new Map<number, { asset: string; amount: bigint; step: number }>();
  /** Their sum per asset. */
  #reservedSum = new Map<string, bigint>();

  /** What the bot may still spend: the engine's free balance less what orders on their way take. */
  free(asset: string): bigint {
    return (this.#free.get(asset) ?? 0n) - (this.#reservedSum.get(asset) ?? 0n);
  }

  /** Free plus locked, as the engine last reported. */
  held(asset: string): bigint {
    return (this.#free.get(asset) ?? 0n) + (this.#locked.get(asset) ?? 0n);
  }

  /** Sets aside what order `seq`, just sent, will lock, until the engine answers it. */
  reserve(seq: number, asset: string, amount: bigint, step: number): void {
    this.settle(seq);
    this.#reserved.set(seq, { asset, amount, step });
    this.#reservedSum.set(asset, (this.#reservedSum.get(asset) ?? 0n) + amount);
  }

  /** What order `seq` has reserved (0 once it was answered). */
  reservedFor(seq: number): bigint {
    return this.#reserved.get(seq)?.amount ?? 0n;
  }

  /** The engine answered order `seq`: the balances seen include whatever it locked. */
  settle(seq: number): void {
    const r = this.#reserved.get(seq);
    if (!r) return;
    this.#reserved.delete(seq);
    this.#reservedSum.set(r.asset, this.#reservedSum.get(r.asset)! - r.amount);
  }

  /** Drops reservations of orders sent at or before `step` that were never answered. */
  forgetBefore(step: number): void {
    // made in step order: the oldest come first
    for (const [seq, r] of this.#reserved) {
      if (r.step > step) break;
      this.settle(seq);
    }
  }

  /** Replaces the view with a wallet read; the first read also fixes the inventory reference. */
  load(balances: { asset: string; free: bigint; locked: bigint }[]): void {
    this.#free.clear();
    this.#locked.clear();
    for (const b of balances) this.apply(b.asset, b.free, b.locked);
    this.known = true;
  }

  /** One asset's balance after a change (a wallet event). */
  apply(asset: string, free: bigint, locked: bigint): void {
    this.#free.set(asset, free);
    this.#locked.set(asset, locked);
    if (!this.reference.has(asset)) this.reference.set(asset, free + locked);
  }
}

/**
 * One of a bot's orders that rests or may rest in the book: sent and not answered yet, open, or
 * with a cancel on its way.
 */
export interface OwnOrder {
  seq: number;
  clientOrderId: string;
  side: Side;
  /** Limit price in ticks. */
  ticks: number;
  /** Lots not filled yet, as far as the bot knows. */
  lots: number;
  state: "sent" | "open" | "canceling";
  /** Step of the last change of state (sending, the answer, the cancel). */
  since: number;
  /** Seq of the cancel or cancelAll on its way. */
  cancelSeq?: number;
  /** A noise trader cancels it at this step. */
  expireStep?: number;
}

const RESTING = new Set(["ACCEPTED", "PARTIALLY_FILLED"]);

/**
 * Whether an order's ack says it rests. An order that self-trade prevention expired keeps the status
 * of its fills so far (PARTIALLY_FILLED) with an `expireReason`: it rests no more.
 */
function rests(ack: OrderAck): boolean {
  return RESTING.has(ack.status) && ack.expireReason === undefined;
}

/** Lots of a decimal quantity on a market. */
export function lotsOf(m: Market, qty: string): number {
  return Number(toUnits(qty) / m.stepUnits);
}

/**
 * What canceling an order gives back, as far as the bot knows: an order not answered yet, what it
 * reserved; an open sell, its base; an open buy, the price of its remaining lots (the engine locked a
 * little more for the fee, so the estimate errs low).
 */
export function releaseOf(o: OwnOrder, m: Market, funds: Funds): bigint {
  if (o.state === "canceling") return 0n;
  if (o.state === "sent") return funds.reservedFor(o.seq);
  return o.side === "BUY" ? quoteAmount(m, o.ticks, o.lots) : baseAmount(m, o.lots);
}

/** The answer to placing order `seq`: it rests (open), or it is done (filled, expired, rejected). */
export function placeAnswered(
  orders: OwnOrder[],
  seq: number,
  ack: OrderAck | undefined,
  m: Market,
  step: number,
): void {
  const i = orders.findIndex((o) => o.seq === seq);
  if (i >= 0) update(orders, i, ack && rests(ack) ? ack : undefined, m, step);
}

/** An order event of one of the bot's orders: a fill updates it, a close removes it. */
export function orderUpdated(
  orders: OwnOrder[],
  event: Pick<OrderEvent, "event" | "order">,
  m: Market,
  step: number,
): void {
  const ack = event.order;
  const i = orders.findIndex((o) => o.clientOrderId === ack.clientOrderId);
  if (i < 0) return;
  const closed = event.event === "CANCELED" || event.event === "EXPIRED" || event.event === "REJECTED" ||
    !rests(ack);
  update(orders, i, closed ? undefined : ack, m, step);
}

/** Order `i` still rests as `ack` says (its remaining lots; open from `step` if it was on its way), or is gone. */
function update(orders: OwnOrder[], i: number, ack: OrderAck | undefined, m: Market, step: number): void {
  if (!ack) {
    orders.splice(i, 1);
    return;
  }
  const o = orders[i];
  o.lots = lotsOf(m, ack.remainingQty);
  if (o.state === "sent") {
    o.state = "open";
    o.since = step;
  }
}

/**
 * The answer to a cancel or cancelAll with seq `cancelSeq`. Either way the orders it was about are
 * closed: canceled, or (a rejected cancel, UNKNOWN_ORDER) filled or expired before it arrived.
 */
export function cancelAnswered(orders: OwnOrder[], cancelSeq: number): void {
  for (let i = orders.length - 1; i >= 0; i--) if (orders[i].cancelSeq === cancelSeq) orders.splice(i, 1);
}

/**
 * Forgets orders whose place or cancel has gone unanswered since `step` or earlier (the engine never
 * saw the command, or its answer was lost), so that they hold no order allowance forever.
 */
export function forgetUnanswered(orders: OwnOrder[], step: number): void {
  for (let i = orders.length - 1; i >= 0; i--) {
    const o = orders[i];
    if (o.state !== "open" && o.since <= step) orders.splice(i, 1);
  }
}
