/**
 * How an order's status reads in the pages: what a trader calls it, with why its remainder expired
 * when it did (the API keeps the contract's names: ACCEPTED, PARTIALLY_FILLED, ...).
 * @module
 */

const WORDS: Record<string, string> = {
  ACCEPTED: "open",
  PARTIALLY_FILLED: "partially filled",
  FILLED: "filled",
  CANCELED: "canceled",
  EXPIRED: "expired",
  REJECTED: "rejected",
};

/** "open", "filled", "partially filled · rest expired: no liquidity", ... */
export function orderStatusText(o: { status: string; expireReason?: string | null }): string {
  const word = WORDS[o.status] ?? o.status.toLowerCase().replaceAll("_", " ");
  if (!o.expireReason) return word;
  const why = o.expireReason.toLowerCase().replaceAll("_", " ");
  return o.status === "PARTIALLY_FILLED" ? `${word} · rest expired: ${why}` : `${word}: ${why}`;
}
