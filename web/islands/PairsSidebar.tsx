import { useEffect, useState } from "preact/hooks";
import { Change } from "../components/Change.tsx";
import { parsePayload, Ticker } from "../gateway_client.ts";
import { formatStep } from "../utils/decimal.ts";
import { chartTimeframe, marketSocket, useStore } from "../utils/live.ts";

export interface PairRow {
  symbol: string;
  base: string;
  quote: string;
  tickSize: string;
  last?: string;
  changePct?: string;
}

export interface PairsSidebarProps {
  gatewayUrl: string;
  current: string;
  tf: string;
  pairs: PairRow[];
}

/** Every pair with its live price; links keep the chart's timeframe. */
export default function PairsSidebar({ gatewayUrl, current, tf, pairs: initial }: PairsSidebarProps) {
  const [pairs, setPairs] = useState(initial);
  const [filter, setFilter] = useState("");
  const liveTf = useStore(chartTimeframe) ?? tf;

  useEffect(() => {
    const socket = marketSocket(gatewayUrl);
    const stops = initial.map((p) =>
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
      })
    );
    return () => stops.forEach((s) => s());
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
              </span>
              <span class="num">{formatStep(p.last, p.tickSize)}</span>
              <Change pct={p.changePct} />
            </a>
          </li>
        ))}
        {shown.length === 0 && <li class="empty">No pair matches</li>}
      </ul>
    </nav>
  );
}
