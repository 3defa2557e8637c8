import { useEffect, useState } from "preact/hooks";
import { Change } from "../components/Change.tsx";
import { Sparkline } from "../components/Sparkline.tsx";
import { parsePayload, Ticker } from "../gateway_client.ts";
import { compareDecimal, formatCompact, formatStep } from "../utils/decimal.ts";
import { marketSocket } from "../utils/live.ts";

export interface MarketRow {
  symbol: string;
  base: string;
  quote: string;
  tickSize: string;
  status: string;
  last?: string;
  changePct?: string;
  high?: string;
  low?: string;
  volume?: string;
  quoteVolume?: string;
  /** Recent closes for the sparkline. */
  spark: number[];
}

export interface MarketsTableProps {
  gatewayUrl: string;
  rows: MarketRow[];
}

/** Every market with its last price, 24h change, range and volume, kept live from ticker channels. */
export default function MarketsTable({ gatewayUrl, rows: initial }: MarketsTableProps) {
  const [rows, setRows] = useState(initial);
  const [flash, setFlash] = useState<Record<string, "up" | "down">>({});
  const [filter, setFilter] = useState("");

  useEffect(() => {
    const socket = marketSocket(gatewayUrl);
    const stops = initial.map((row) =>
      socket.subscribe(`ticker.${row.symbol}`, (m) => {
        if (m.type === "subscribed") return;
        const t = parsePayload(Ticker, m.data);
        if (!t) return;
        setRows((all) =>
          all.map((r) => {
            if (r.symbol !== t.symbol) return r;
            if (r.last && t.last !== r.last) {
              const dir = compareDecimal(t.last, r.last) > 0 ? "up" : "down";
              setFlash((f) => ({ ...f, [r.symbol]: dir }));
              setTimeout(() => setFlash((f) => ({ ...f, [r.symbol]: undefined as never })), 700);
            }
            return {
              ...r,
              last: t.last,
              changePct: t.changePct24h ?? r.changePct,
              high: t.high24h ?? r.high,
              low: t.low24h ?? r.low,
              volume: t.volume24h ?? r.volume,
              quoteVolume: t.quoteVolume24h ?? r.quoteVolume,
            };
          })
        );
      })
    );
    return () => stops.forEach((stop) => stop());
  }, [gatewayUrl]);

  const q = filter.trim().toUpperCase();
  const shown = q ? rows.filter((r) => r.symbol.includes(q)) : rows;
  return (
    <div class="panel markets">
      <div class="panel-head">
        <h2>Markets</h2>
        <label class="search">
          <span class="sr-only">Filter markets</span>
          <input
            type="search"
            placeholder="Search pair"
            value={filter}
            onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <div class="table-scroll">
        <table class="data">
          <thead>
            <tr>
              <th scope="col">Pair</th>
              <th scope="col" class="num">Last price</th>
              <th scope="col" class="num">24h change</th>
              <th scope="col" class="num hide-sm">24h high</th>
              <th scope="col" class="num hide-sm">24h low</th>
              <th scope="col" class="num hide-xs">24h volume</th>
              <th scope="col" class="hide-sm">Trend</th>
              <th scope="col" class="hide-sm">
                <span class="sr-only">Trade</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.symbol} data-symbol={r.symbol}>
                <th scope="row">
                  <a class="pair" href={`/trade/${r.symbol}`}>
                    <strong>{r.base}</strong>
                    <span class="muted">/{r.quote}</span>
                  </a>
                  {r.status !== "TRADING" && <span class="tag warn">{r.status.toLowerCase()}</span>}
                </th>
                <td
                  class={`num last ${flash[r.symbol] ? `flash-${flash[r.symbol]}` : ""}`}
                  data-testid="last"
                >
                  {formatStep(r.last, r.tickSize, true)}
                </td>
                <td class="num">
                  <Change pct={r.changePct} />
                </td>
                <td class="num hide-sm">{formatStep(r.high, r.tickSize, true)}</td>
                <td class="num hide-sm">{formatStep(r.low, r.tickSize, true)}</td>
                <td class="num hide-xs" title={r.volume ? `${r.volume} ${r.base}` : undefined}>
                  {formatCompact(r.volume)} <span class="muted">{r.base}</span>
                </td>
                <td class="hide-sm">
                  <Sparkline values={r.spark} />
                </td>
                <td class="num hide-sm">
                  <a class="btn small" href={`/trade/${r.symbol}`} aria-label={`Trade ${r.symbol}`}>Trade</a>
                </td>
              </tr>
            ))}
            {shown.length === 0 && (
              <tr>
                <td colSpan={8} class="empty">No market matches “{filter}”.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
