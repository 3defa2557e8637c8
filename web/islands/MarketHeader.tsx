import { useEffect, useState } from "preact/hooks";
import { Change } from "../components/Change.tsx";
import { parsePayload, type SocketStatus, Ticker, type Ticker as TickerT, Trade } from "../gateway_client.ts";
import { compareDecimal, formatCompact, formatStep } from "../utils/decimal.ts";
import { lastPrices, marketSocket, marketStatuses, useStore } from "../utils/live.ts";
import { dayChange, dayRange, type MarketInfo } from "../utils/market.ts";

export interface MarketHeaderProps {
  gatewayUrl: string;
  market: MarketInfo;
  ticker?: TickerT;
}

const STATUS_TEXT: Record<SocketStatus, string> = {
  connecting: "connecting",
  open: "live",
  reconnecting: "reconnecting…",
  closed: "offline",
};

/** The pair's headline numbers: last price, 24h change, high, low and volume, live. */
export default function MarketHeader({ gatewayUrl, market, ticker: initial }: MarketHeaderProps) {
  const [ticker, setTicker] = useState<Partial<TickerT>>(initial ?? {});
  const [last, setLast] = useState(initial?.last ?? market.last);
  const [dir, setDir] = useState<"up" | "down" | "">("");
  const [status, setStatus] = useState<SocketStatus>("connecting");
  // the order form follows the market's status (an admin may pause it while the page is open)
  const marketStatus = useStore(marketStatuses)[market.symbol] ?? market.status;

  useEffect(() => {
    const socket = marketSocket(gatewayUrl);
    const move = (price: string) => {
      // shared: the order form measures a market order against the live price, not the page's
      const known = lastPrices.get();
      if (known[market.symbol] !== price) lastPrices.set({ ...known, [market.symbol]: price });
      setLast((prev) => {
        if (prev && price !== prev) setDir(compareDecimal(price, prev) > 0 ? "up" : "down");
        return price;
      });
    };
    const stops = [
      socket.onStatus(setStatus),
      socket.subscribe(`ticker.${market.symbol}`, (m) => {
        if (m.type === "subscribed") return;
        const t = parsePayload(Ticker, m.data);
        if (t) {
          setTicker(t);
          move(t.last);
        }
      }),
      socket.subscribe(`trades.${market.symbol}`, (m) => {
        if (m.type === "subscribed") return;
        const items = Array.isArray(m.data) ? m.data : [m.data];
        const t = parsePayload(Trade, items[items.length - 1]);
        if (t) move(t.price);
      }),
    ];
    return () => stops.forEach((s) => s());
  }, [gatewayUrl, market.symbol]);

  useEffect(() => {
    document.title = `${last ? formatStep(last, market.tickSize) + " · " : ""}${market.symbol} · Kalency`;
  }, [last]);

  const range = dayRange(ticker.high24h, ticker.low24h, last);
  const change = dayChange(ticker.open24h, last) ??
    (ticker.change24h ? { change: ticker.change24h, pct: ticker.changePct24h } : undefined);

  return (
    <header class="panel market-header" aria-label={`${market.symbol} summary`}>
      <div class="pair-title">
        <h1>
          {market.base}
          <span class="muted">/{market.quote}</span>
        </h1>
        {marketStatus !== "TRADING" && (
          <span class="tag warn" data-testid="market-status">{marketStatus.toLowerCase()}</span>
        )}
        <span class={`live ${status}`} role="status" title="Market data connection">
          <span class="dot" aria-hidden="true" />
          {STATUS_TEXT[status]}
        </span>
      </div>
      <dl class="stats">
        <div class="stat last">
          <dt class="sr-only">Last price</dt>
          <dd
            class={`num big ${dir === "up" ? "buy" : dir === "down" ? "sell" : ""}`}
            data-testid="last-price"
          >
            {formatStep(last, market.tickSize, true)}
          </dd>
        </div>
        <div class="stat">
          <dt>24h change</dt>
          <dd>
            <span class="num">
              {change ? formatStep(change.change, market.tickSize, true) : "—"}
            </span>{" "}
            <Change pct={change?.pct} />
          </dd>
        </div>
        <div class="stat">
          <dt>24h high</dt>
          <dd class="num">{formatStep(range.high, market.tickSize, true)}</dd>
        </div>
        <div class="stat">
          <dt>24h low</dt>
          <dd class="num">{formatStep(range.low, market.tickSize, true)}</dd>
        </div>
        <div class="stat">
          <dt>24h volume ({market.base})</dt>
          <dd class="num">{formatCompact(ticker.volume24h)}</dd>
        </div>
        <div class="stat hide-sm">
          <dt>24h volume ({market.quote})</dt>
          <dd class="num">{formatCompact(ticker.quoteVolume24h)}</dd>
        </div>
      </dl>
    </header>
  );
}
