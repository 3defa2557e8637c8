import { useEffect, useRef, useState } from "preact/hooks";
import { Change } from "../components/Change.tsx";
import { parsePayload, Ticker } from "../gateway_client.ts";
import { formatStep } from "../utils/decimal.ts";
import { chartTimeframe, lastPrices, marketSocket, useStore, watchMarkets } from "../utils/live.ts";
import { type PairRow, withNewPairs } from "../utils/market.ts";

export type { PairRow };

export interface PairsSidebarProps {
  gatewayUrl: string;
  current: string;
  tf: string;
  pairs: PairRow[];
}

/**
 * Every pair with its live price; links keep the chart's timeframe. Markets listed while the page is
 * open join the list (from the shared market poll).
 */
export default function PairsSidebar({ gatewayUrl, current, tf, pairs: initial }: PairsSidebarProps) {
  const [pairs, setPairs] = useState(initial);
  const [filter, setFilter] = useState("");
  const liveTf = useStore(chartTimeframe) ?? tf;
  // the header's price follows every trade; a ticker comes at most once a second
  const traded = useStore(lastPrices);
  /** The ticker subscriptions, by symbol. */
  const tickers = useRef(new Map<string, () => void>());

  useEffect(() => watchMarkets(gatewayUrl, (markets) => setPairs((rows) => withNewPairs(rows, markets))), [
    gatewayUrl,
  ]);

  useEffect(() => {
    const socket = marketSocket(gatewayUrl);
    for (const p of pairs) {
      if (tickers.current.has(p.symbol)) continue;
      tickers.current.set(
        p.symbol,
        socket.subscribe(`ticker.${p.symbol}`, (m) => {
          if (m.type === "subscribed") return;
          const t = parsePayload(Ticker, m.data);
          if (t) {
            setPairs((all) =>
              all.map((r) =>
                r.symbol === t.symbol ? { ...r, last: t.last, changePct: t.changePct24h ?? r.changePct } : r
              )
            );
          }
        }),
      );
    }
  }, [gatewayUrl, pairs.length]);

  useEffect(() => () => {
    for (const stop of tickers.current.values()) stop();
    tickers.current.clear();
  }, [gatewayUrl]);

  const q = filter.trim().toUpperCase();
  const shown = q ? pairs.filter((p) => p.symbol.includes(q)) : pairs;
  return (
    <nav class="panel pairs" aria-label="Pairs">
      <div class="panel-head">
        <h2>Pairs</h2>
      </div>
      <label class="search">
        <span class="sr-only">Filter pairs</span>
        <input
          type="search"
          placeholder="Search"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
      </label>
      <ul>
        {shown.map((p) => (
          <li key={p.symbol}>
            <a
              href={`/trade/${p.symbol}?tf=${liveTf}`}
              aria-current={p.symbol === current ? "page" : undefined}
            >
              <span class="sym">
                <strong>{p.base}</strong>
                <span class="muted">/{p.quote}</span>
                {p.status && p.status !== "TRADING" && <span class="tag warn">{p.status.toLowerCase()}</span>}
              </span>
              <span class="num">{formatStep(traded[p.symbol] ?? p.last, p.tickSize, true)}</span>
              <Change pct={p.changePct} />
            </a>
          </li>
        ))}
        {shown.length === 0 && <li class="empty">No pair matches</li>}
      </ul>
    </nav>
  );
}
