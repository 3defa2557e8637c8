/**
 * What one command produced, in internal integer form, written into reusable column buffers so the
 * hot path allocates nothing per event. The engine adapter (engine.ts) turns them into wire events;
 * the benchmark reads the fill columns directly.
 * @module
 */
import type { Market, Order, User } from "./model.ts";

/** Order event kinds. */
export const EV_NEW = 0;
export const EV_TRADE = 1;
export const EV_CANCELED = 2;
export const EV_EXPIRED = 3;
export const ORDER_EVENT_KINDS = ["NEW", "TRADE", "CANCELED", "EXPIRED"] as const;

/** Wallet event reasons. */
export const W_OPEN_ACCOUNT = 0;
export const W_DEPOSIT = 1;
export const W_LOCK = 2;
export const W_UNLOCK = 3;
export const W_TRADE = 4;
export const W_FEE = 5;
export const WALLET_REASONS = ["OPEN_ACCOUNT", "DEPOSIT", "LOCK", "UNLOCK", "TRADE", "FEE"] as const;

const INITIAL = 256;

function grow<T extends Float64Array | Int32Array | Uint8Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

export class EventBuffer {
  /** The command's time (ms): stamped on everything it changes. */
  ts = 0;

  // Fills (executions), one per maker fill.
  fillCount = 0;
  /** Maker order id; the maker Order itself is in the TRADE order event of the fill, the taker is the command's order. */
  fMakerId = new Float64Array(INITIAL);
  fPrice = new Float64Array(INITIAL);
  fQty = new Float64Array(INITIAL);
  fMakerFee = new Float64Array(INITIAL);
  fTakerFee = new Float64Array(INITIAL);
  /** Trade number (the n of trd-<epoch>-<n>). */
  fTradeId = new Float64Array(INITIAL);
  /** Per-symbol trade sequence. */
  fSeq = new Float64Array(INITIAL);

  // Order events, each with the order's filled amounts and status right after it.
  evCount = 0;
  evOrder: Order[] = [];
  evKind = new Uint8Array(INITIAL);
  evStatus = new Uint8Array(INITIAL);
  evExpire = new Uint8Array(INITIAL);
  evFilled = new Float64Array(INITIAL);
  evFilledQuote = new Float64Array(INITIAL);
  /** Fill index for TRADE events, -1 otherwise. */
  evFill = new Int32Array(INITIAL);

  // Wallet events, each with the balance right after it.
  wCount = 0;
  /** User index (Core.users). */
  wUser = new Int32Array(INITIAL);
  wAsset = new Int32Array(INITIAL);
  wReason = new Uint8Array(INITIAL);
  wFreeDelta = new Float64Array(INITIAL);
  wLockedDelta = new Float64Array(INITIAL);
  wFree = new Float64Array(INITIAL);
  wLocked = new Float64Array(INITIAL);
  /** Fill index for TRADE/FEE, -1 otherwise. */
  wFill = new Int32Array(INITIAL);
  /** Order id for LOCK/UNLOCK, 0 otherwise. */
  wOrderId = new Float64Array(INITIAL);

  // Book levels touched (market, side, price); the adapter reads their current quantity.
  tCount = 0;
  tMarket: Market[] = [];
  tSide = new Uint8Array(INITIAL);
  tPrice = new Float64Array(INITIAL);

  /** Starts a new command. */
  reset(ts: number): void {
    this.ts = ts;
    this.fillCount = 0;
    this.evCount = 0;
    this.wCount = 0;
    this.tCount = 0;
  }

  fill(makerId: number, price: number, qty: number, tradeId: number, seq: number): number {
    const i = this.fillCount;
    if (i === this.fPrice.length) this.#growFills();
    this.fMakerId[i] = makerId;
    this.fPrice[i] = price;
    this.fQty[i] = qty;
    this.fMakerFee[i] = 0;
    this.fTakerFee[i] = 0;
    this.fTradeId[i] = tradeId;
    this.fSeq[i] = seq;
    this.fillCount = i + 1;
    return i;
  }

  order(order: Order, kind: number, fill: number): number {
    const i = this.evCount;
    if (i === this.evKind.length) this.#growOrderEvents();
    this.evOrder[i] = order;
    this.evKind[i] = kind;
    this.evStatus[i] = order.status;
    this.evExpire[i] = order.expireReason;
    this.evFilled[i] = order.filled;
    this.evFilledQuote[i] = order.filledQuote;
    this.evFill[i] = fill;
    this.evCount = i + 1;
    return i;
  }

  wallet(
    user: User,
    asset: number,
    reason: number,
    freeDelta: number,
    lockedDelta: number,
    fill: number,
    orderId: number,
  ): void {
    const i = this.wCount;
    if (i === this.wAsset.length) this.#growWallet();
    this.wUser[i] = user.idx;
    this.wAsset[i] = asset;
    this.wReason[i] = reason;
    this.wFreeDelta[i] = freeDelta;
    this.wLockedDelta[i] = lockedDelta;
    this.wFree[i] = user.free[asset]!;
    this.wLocked[i] = user.locked[asset]!;
    this.wFill[i] = fill;
    this.wOrderId[i] = orderId;
    this.wCount = i + 1;
  }

  touch(market: Market, side: number, price: number): void {
    const i = this.tCount;
    // A sweep touches each level once in a row; skip the repeat.
    if (
      i > 0 && this.tPrice[i - 1] === price && this.tSide[i - 1] === side && this.tMarket[i - 1] === market
    ) {
      return;
    }
    if (i === this.tSide.length) {
      this.tSide = grow(this.tSide);
      this.tPrice = grow(this.tPrice);
    }
    this.tMarket[i] = market;
    this.tSide[i] = side;
    this.tPrice[i] = price;
    this.tCount = i + 1;
  }

  #growFills(): void {
    this.fMakerId = grow(this.fMakerId);
    this.fPrice = grow(this.fPrice);
    this.fQty = grow(this.fQty);
    this.fMakerFee = grow(this.fMakerFee);
    this.fTakerFee = grow(this.fTakerFee);
    this.fTradeId = grow(this.fTradeId);
    this.fSeq = grow(this.fSeq);
  }

  #growOrderEvents(): void {
    this.evKind = grow(this.evKind);
    this.evStatus = grow(this.evStatus);
    this.evExpire = grow(this.evExpire);
    this.evFilled = grow(this.evFilled);
    this.evFilledQuote = grow(this.evFilledQuote);
    this.evFill = grow(this.evFill);
  }

  #growWallet(): void {
    this.wUser = grow(this.wUser);
    this.wOrderId = grow(this.wOrderId);
    this.wAsset = grow(this.wAsset);
    this.wReason = grow(this.wReason);
    this.wFreeDelta = grow(this.wFreeDelta);
    this.wLockedDelta = grow(this.wLockedDelta);
    this.wFree = grow(this.wFree);
    this.wLocked = grow(this.wLocked);
    this.wFill = grow(this.wFill);
  }
}
