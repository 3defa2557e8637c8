/**
 * The ledger in PostgreSQL, shared by the ledger writer (which fills it), the gateway and the tools
 * (which read it).
 *
 * Each trade is one `trade_ledger` row; its double-entry legs (buyer +base -quote -fee, seller -base
 * +quote -fee, fee account +fees) are the `ledger_postings` view, together with the stored funding
 * postings (account opening and deposits against {@linkcode EXTERNAL_ACCOUNT}). Per reference and
 * asset the postings sum to zero, and an account's balance is the sum of its postings.
 *
 * @example
 * ```ts
 * import { balancesFromPostings, postingsHistory } from "@lib/ledger";
 * const balances = await balancesFromPostings(sql, "alice");
 * const page = await postingsHistory(sql, "alice", { asset: "USD", limit: 50 });
 * ```
 * @module
 */
export * from "./postings.ts";
export * from "./fills.ts";
export * from "./sample_flow.ts";
