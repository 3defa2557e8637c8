import { fromScaled, toScaled } from "@lib/candles";
import type { Execution, WalletEvent } from "@lib/contracts";
import type { Sql } from "@lib/db";

/**
 * The counter-account of every funding posting (account opening, deposits). Not a valid user id, so
 * it can never collide with a user.
 */
export const EXTERNAL_ACCOUNT = "#external";

/** What a posting records. Trade legs: buy_*, sell_*, fee_income; funding: open_account, deposit. */
export type PostingKind =
  | "buy_base"
  | "buy_quote"
  | "buy_fee"
  | "sell_base"
  | "sell_quote"
  | "sell_fee"
  | "fee_income"
  | "open_account"
  | "deposit";

/** One double-entry leg: a signed amount of one asset on one account. */
export interface Posting {
  /** The trade id, or `wallet:<stream entry id>` for funding. */
  ref: string;
  refType: "trade" | "wallet";
  leg: number;
  kind: PostingKind;
  account: string;
  asset: string;
  /** Signed decimal string ("-650.25"). */
  amount: string;
  postedAt: number;
}

function neg(amount: string): string {
  return fromScaled(-toScaled(amount));
}

function isZero(amount: string): boolean {
  return toScaled(amount) === 0n;
}

/**
 * The postings of one trade, exactly as the `ledger_postings` view derives them from its
 * `trade_ledger` row: the buyer gets base and pays quote, the seller the reverse, each pays its fee
 * (maker or taker) to `feeAccount`. Per asset they sum to zero.
 */
export function postingsForExecution(e: Execution, feeAccount: string): Posting[] {
  const [base, quote] = e.symbol.split("-");
  const buyerFee = e.takerSide === "BUY" ? e.takerFee : e.makerFee;
  const sellerFee = e.takerSide === "SELL" ? e.takerFee : e.makerFee;
  const p = (leg: number, kind: PostingKind, account: string, asset: string, amount: string): Posting => ({
    ref: e.tradeId,
    refType: "trade",
    leg,
    kind,
    account,
    asset,
    amount: fromScaled(toScaled(amount)),
    postedAt: e.ts,
  });
  const out = [
    p(1, "buy_base", e.buyerUserId, base, e.qty),
    p(2, "buy_quote", e.buyerUserId, quote, neg(e.quoteQty)),
  ];
  if (!isZero(buyerFee)) out.push(p(3, "buy_fee", e.buyerUserId, e.feeAsset, neg(buyerFee)));
  out.push(p(4, "sell_base", e.sellerUserId, base, neg(e.qty)));
  out.push(p(5, "sell_quote", e.sellerUserId, quote, e.quoteQty));
  if (!isZero(sellerFee)) out.push(p(6, "sell_fee", e.sellerUserId, e.feeAsset, neg(sellerFee)));
  const fees = toScaled(e.makerFee) + toScaled(e.takerFee);
  if (fees !== 0n) out.push(p(7, "fee_income", feeAccount, e.feeAsset, fromScaled(fees)));
  return out;
}

/**
 * The postings of a wallet event that brings money in from outside (OPEN_ACCOUNT, DEPOSIT): the
 * user's change of total balance, against {@linkcode EXTERNAL_ACCOUNT}. Other reasons (LOCK, UNLOCK,
 * TRADE, FEE) move money that the trade postings already account for, and give none.
 */
export function postingsForWalletEvent(e: WalletEvent, streamId: string): Posting[] {
  if (e.reason !== "OPEN_ACCOUNT" && e.reason !== "DEPOSIT") return [];
  const total = toScaled(e.freeDelta) + toScaled(e.lockedDelta);
  if (total === 0n) return [];
  const kind: PostingKind = e.reason === "OPEN_ACCOUNT" ? "open_account" : "deposit";
  const ref = `wallet:${streamId}`;
  return [
    {
      ref,
      refType: "wallet",
      leg: 1,
      kind,
      account: e.userId,
      asset: e.asset,
      amount: fromScaled(total),
      postedAt: e.ts,
    },
    {
      ref,
      refType: "wallet",
      leg: 2,
      kind,
      account: EXTERNAL_ACCOUNT,
      asset: e.asset,
      amount: fromScaled(-total),
      postedAt: e.ts,
    },
  ];
}

/** A balance as the postings give it. */
export interface AccountBalance {
  account: string;
  asset: string;
  /** Free + locked, as a shortest decimal string. */
  balance: string;
}

/**
 * Every account's balance per asset (or one account's), as the sum of its postings: what the
 * engine's free + locked must equal. `at` gives the balances as they were at that time (ms).
 * Sorted by account, then asset.
 */
export async function balancesFromPostings(
  sql: Sql,
  userId?: string,
  options: { at?: number } = {},
): Promise<AccountBalance[]> {
  const at = options.at !== undefined ? new Date(options.at) : undefined;
  const rows = await sql<{ account: string; asset: string; balance: string }[]>`
    SELECT account, asset, sum(amount)::text AS balance FROM ledger_postings
    WHERE true ${userId !== undefined ? sql`AND account = ${userId}` : sql``}
      ${at ? sql`AND posted_at <= ${at}` : sql``}
    GROUP BY account, asset ORDER BY account, asset`;
  return rows.map((r) => ({ account: r.account, asset: r.asset, balance: fromScaled(toScaled(r.balance)) }));
}

export interface PostingsPage {
  postings: Posting[];
  /** Pass back as `cursor` for the next (older) page; absent on the last page. */
  nextCursor?: string;
}

function encodeCursor(p: Posting): string {
  return btoa(JSON.stringify([p.postedAt, p.ref, p.leg])).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

function decodeCursor(cursor: string): [number, string, number] {
  try {
    const json = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const v = JSON.parse(json);
    if (
      Array.isArray(v) && v.length === 3 && Number.isInteger(v[0]) && typeof v[1] === "string" &&
      Number.isInteger(v[2])
    ) return v as [number, string, number];
  } catch { /* reported below */ }
  throw new TypeError(`Cannot read postings cursor "${cursor}": pass back a nextCursor returned earlier`);
}

/**
 * One user's postings, newest first, a page at a time (for the wallet page).
 * @param options.asset only this asset
 * @param options.limit page size, 1..500
 * @param options.cursor `nextCursor` of the previous page
 * @throws {TypeError} when the cursor is not one this function returned
 */
export async function postingsHistory(
  sql: Sql,
  userId: string,
  options: { asset?: string; limit: number; cursor?: string },
): Promise<PostingsPage> {
  const limit = Math.max(1, Math.min(Math.trunc(options.limit), 500));
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const rows = await sql<
    {
      ref: string;
      ref_type: string;
      leg: number;
      kind: string;
      asset: string;
      amount: string;
      posted_at: Date;
    }[]
  >`
    SELECT ref, ref_type, leg, kind, asset, amount::text AS amount, posted_at FROM ledger_postings
    WHERE account = ${userId}
      ${options.asset ? sql`AND asset = ${options.asset}` : sql``}
      ${after ? sql`AND (posted_at, ref, leg) < (${new Date(after[0])}, ${after[1]}, ${after[2]})` : sql``}
    ORDER BY posted_at DESC, ref DESC, leg DESC
    LIMIT ${limit + 1}`;
  const postings = rows.slice(0, limit).map((r): Posting => ({
    ref: r.ref,
    refType: r.ref_type as Posting["refType"],
    leg: Number(r.leg),
    kind: r.kind as PostingKind,
    account: userId,
    asset: r.asset,
    amount: fromScaled(toScaled(r.amount)),
    postedAt: r.posted_at.getTime(),
  }));
  const page: PostingsPage = { postings };
  if (rows.length > limit) page.nextCursor = encodeCursor(postings[postings.length - 1]);
  return page;
}
