import { useState } from "preact/hooks";
import { useEffect } from "preact/hooks";
import { Posting as PostingSchema } from "../gateway_client.ts";
import { addDecimal, decimalPlaces, formatPlaces, groupThousands, isZero } from "../utils/decimal.ts";
import { GatewayError } from "../gateway_client.ts";
import { balances, dayClock, gateway, useMounted, useSession, useStore } from "../utils/live.ts";
import { useWallet } from "../utils/wallet.ts";
import { type HistoryRow, rowOfPosting, rowOfWalletChange } from "../utils/postings.ts";

export interface WalletViewProps {
  gatewayUrl: string;
}

function signed(text: string): string {
  // the ledger's numeric(38,18) comes with trailing zeros
  const trimmed = text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  return trimmed.startsWith("-") ? groupThousands(trimmed) : `+${groupThousands(trimmed)}`;
}

/** Balances (free and locked) and the history of balance postings, live. */
export default function WalletView({ gatewayUrl }: WalletViewProps) {
  const { session, ready } = useSession();
  const mounted = useMounted();
  const [postings, setPostings] = useState<HistoryRow[] | undefined>(undefined);
  const [postingsError, setPostingsError] = useState("");
  const wallet = useStore(balances);
  useWallet(gatewayUrl, session, (change) => {
    const p = PostingSchema.safeParse(change);
    const row = p.success ? rowOfWalletChange(p.data) : undefined;
    if (row) setPostings((list) => [row, ...(list ?? [])].slice(0, 200));
  });

  useEffect(() => {
    if (!session) return;
    gateway(gatewayUrl).postings(100).then((list) => {
      setPostings(list.map(rowOfPosting).filter((r): r is HistoryRow => r !== undefined));
      setPostingsError("");
    }).catch((e) =>
      setPostingsError(
        e instanceof GatewayError && e.status === 404
          ? "The balance history is not offered by this gateway yet; changes from now on are listed live."
          : `Could not load the history: ${(e as Error).message}`,
      )
    );
  }, [gatewayUrl, session?.user.userId]);

  if (!ready) return <p class="empty">Loading…</p>;
  if (!session) {
    return (
      <p class="panel empty">
        <a href="/login?next=/wallet">Log in</a> to see your wallet.
      </p>
    );
  }
  const assets = Object.keys(wallet).sort();
  // Each asset's row shows its amounts with the same places (the longest fraction of the three), so
  // a live change in one asset never reformats another's.
  const totals = Object.fromEntries(assets.map((a) => [a, addDecimal(wallet[a].free, wallet[a].locked)]));
  const rowPlaces = Object.fromEntries(
    assets.map((a) => [a, Math.max(0, ...[wallet[a].free, wallet[a].locked, totals[a]].map(decimalPlaces))]),
  );
  // the balance after a posting is known for rows that arrived live only: no column without one
  const withBalance = postings?.some((p) => p.balanceAfter !== undefined) ?? false;
  const columns = withBalance ? 6 : 5;
  return (
    <>
      <section class="panel" aria-label="Balances">
        <div class="panel-head">
          <h2>Balances</h2>
        </div>
        <div class="table-scroll">
          <table class="data" data-testid="balances">
            <thead>
              <tr>
                <th scope="col">Asset</th>
                <th scope="col" class="num">Available</th>
                <th scope="col" class="num">In orders</th>
                <th scope="col" class="num hide-xs">Total</th>
              </tr>
            </thead>
            <tbody>
              {assets.length === 0 && (
                <tr>
                  <td colSpan={4} class="empty">No balances yet</td>
                </tr>
              )}
              {assets.map((a) => (
                <tr key={a} data-asset={a}>
                  <th scope="row">{a}</th>
                  <td class="num" data-testid="free" data-value={wallet[a].free}>
                    {groupThousands(formatPlaces(wallet[a].free, rowPlaces[a]))}
                  </td>
                  <td class="num" data-testid="locked" data-value={wallet[a].locked}>
                    {groupThousands(formatPlaces(wallet[a].locked, rowPlaces[a]))}
                  </td>
                  <td class="num hide-xs">{groupThousands(formatPlaces(totals[a], rowPlaces[a]))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="panel" aria-label="Balance history">
        <div class="panel-head">
          <h2>Balance history</h2>
        </div>
        {postingsError && <p class="muted" role="status">{postingsError}</p>}
        <div class="table-scroll">
          <table class="data" data-testid="postings">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Asset</th>
                <th scope="col" class="num">Change</th>
                {withBalance && <th scope="col" class="num hide-sm">Balance after</th>}
                <th scope="col">Reason</th>
                <th scope="col" class="hide-sm">Reference</th>
              </tr>
            </thead>
            <tbody>
              {postings === undefined && !postingsError && (
                <tr>
                  <td colSpan={columns} class="empty">Loading…</td>
                </tr>
              )}
              {postings?.length === 0 && (
                <tr>
                  <td colSpan={columns} class="empty">No postings yet</td>
                </tr>
              )}
              {postings?.map((p, i) => (
                <tr key={`${p.ref ?? ""}-${i}`}>
                  <td class="mono muted">
                    {p.ms !== undefined ? dayClock(p.ms, mounted) : "—"}
                  </td>
                  <td>{p.asset}</td>
                  <td class={`num ${isZero(p.change) ? "" : p.change.startsWith("-") ? "sell" : "buy"}`}>
                    {signed(p.change)}
                  </td>
                  {withBalance && (
                    <td class="num hide-sm">
                      {p.balanceAfter !== undefined ? groupThousands(p.balanceAfter) : "—"}
                    </td>
                  )}
                  <td>{p.label}</td>
                  <td class="hide-sm muted mono-sm">{p.ref ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
