/**
 * The wallet page's balance history as rows. The history loads from the ledger's postings (money in
 * and out of the balance: trade legs, fees, deposits) and then grows with the live wallet changes;
 * both are turned into the same rows here, so a row reads the same before and after a reload.
 * @module
 */
import type { Posting } from "../gateway_client.ts";
import { addDecimal, isZero } from "./decimal.ts";

export interface HistoryRow {
  asset: string;
  /** Signed change of the asset's total (available + in orders). */
  change: string;
  /** The total afterwards, when the source says (live changes do, ledger postings do not). */
  balanceAfter?: string;
  label: string;
  ref?: string;
  /** Epoch ms. */
  ms?: number;
}

/** One label for a ledger posting kind and the live change reason that stands for the same thing. */
const LABELS: Record<string, string> = {
  buy_base: "trade",
  buy_quote: "trade",
  sell_base: "trade",
  sell_quote: "trade",
  TRADE: "trade",
  buy_fee: "fee",
  sell_fee: "fee",
  FEE: "fee",
  fee_income: "fee income",
  deposit: "deposit",
  DEPOSIT: "deposit",
  open_account: "opening balance",
  OPEN_ACCOUNT: "opening balance",
};

/** The label of a posting kind or change reason; unknown ones are shown as they come, in words. */
export function historyLabel(kindOrReason: string | undefined): string {
  if (!kindOrReason) return "";
  return LABELS[kindOrReason] ?? kindOrReason.toLowerCase().replaceAll("_", " ");
}

function msOf(p: Posting): number | undefined {
  const t = p.ts ?? p.postedAt ?? p.createdAt;
  if (t === undefined) return undefined;
  return typeof t === "number" ? t : Date.parse(t);
}

/** A ledger posting as a row. */
export function rowOfPosting(p: Posting): HistoryRow | undefined {
  if (p.amount === undefined) return undefined;
  return {
    asset: p.asset,
    change: p.amount,
    balanceAfter: p.balance,
    label: historyLabel(p.kind ?? p.reason),
    // funding rows name a stream entry here but a command id live: only trade ids mean the same
    ref: p.refType === "wallet" ? undefined : p.ref ?? undefined,
    ms: msOf(p),
  };
}

/**
 * A live wallet change as a row, or undefined when it moves nothing in or out: locking funds for an
 * order and releasing them only shift the balance between available and in orders, and the ledger
 * has no posting for them either. The change is free + locked: a fill of a resting order is paid
 * from the locked part.
 */
export function rowOfWalletChange(p: Posting): HistoryRow | undefined {
  if (p.freeDelta === undefined && p.lockedDelta === undefined) return rowOfPosting(p);
  if (p.reason === "LOCK" || p.reason === "UNLOCK") return undefined;
  const change = addDecimal(p.freeDelta ?? "0", p.lockedDelta ?? "0");
  if (isZero(change)) return undefined;
  return {
    asset: p.asset,
    change,
    balanceAfter: p.free !== undefined ? addDecimal(p.free, p.locked ?? "0") : undefined,
    label: historyLabel(p.reason),
    ref: p.reason === "TRADE" || p.reason === "FEE" ? p.ref ?? undefined : undefined,
    ms: msOf(p),
  };
}
