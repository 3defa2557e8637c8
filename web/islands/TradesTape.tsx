import { useEffect, useState } from "preact/hooks";
import { parsePayload, Trade } from "../gateway_client.ts";
import { formatStep } from "../utils/decimal.ts";
import { clock, gateway, marketSocket, pickedPrice, useMounted } from "../utils/live.ts";
import type { MarketInfo } from "../utils/market.ts";
import { followWithCatchUp } from "../utils/catch_up.ts";

export interface TradesTapeProps {
  gatewayUrl: string;
  market: MarketInfo;
  /** Newest first. */
  trades: Trade[];
}

const KEEP = 60;

function mergeTrades(list: Trade[], incoming: Trade[]): Trade[] {
  const seen = new Set(list.map((t) => t.tradeId));
  const fresh = incoming.filter((t) => !seen.has(t.tradeId));
  if (fresh.length === 0) return list;
  return [...fresh, ...list].sort((a, b) => (b.seq ?? b.ts) - (a.seq ?? a.ts) || b.ts - a.ts).slice(0, KEEP);
}

/** The market's latest trades, newest on top, live from `trades.{symbol}`. */
export default function TradesTape({ gatewayUrl, market, trades: initial }: TradesTapeProps) {
  const [trades, setTrades] = useState(initial);
  const mounted = useMounted();

  useEffect(() =>
    followWithCatchUp(
      marketSocket(gatewayUrl),
      `trades.${market.symbol}`,
      // what traded between the page's render (or a disconnection) and the subscription
      () =>
        void gateway(gatewayUrl).trades(market.symbol, KEEP).then((list) =>
          setTrades((cur) => mergeTrades(cur, list))
        ).catch(() => {}),
      (m) => {
        const items = Array.isArray(m.data) ? m.data : [m.data];
        const parsed = items.map((i) => parsePayload(Trade, i)).filter((t): t is Trade => t !== undefined);
        if (parsed.length) setTrades((cur) => mergeTrades(cur, parsed));
      },
    ), [gatewayUrl, market.symbol]);

  return (
    <section class="panel trades" aria-label="Recent trades">
      <div class="panel-head">
        <h2>Trades</h2>
      </div>
      <div class="trade-cols muted" aria-hidden="true">
        <span>Price ({market.quote})</span>
        <span class="num">Amount ({market.base})</span>
        <span class="num">Time</span>
      </div>
      <p class="sr-only" id="tape-keys">Choosing a trade puts its price in the order form.</p>
      <ol class="tape" aria-live="off" aria-label="Recent trades, newest first">
        {trades.length === 0 && <li class="empty">No trades yet</li>}
        {trades.map((t) => (
          <li key={t.tradeId} data-trade-id={t.tradeId}>
            <button
              type="button"
              // not a Tab stop each: fifty of them stood between the book and the order form
              tabIndex={-1}
              onClick={() => pickedPrice.set({ price: t.price, at: Date.now() })}
              aria-describedby="tape-keys"
            >
              {/* the name is the visible figures with their words (no label hiding what is seen) */}
              <span class={`num ${t.takerSide === "SELL" ? "sell" : "buy"}`}>
                {formatStep(t.price, market.tickSize)}
                <span class="sr-only">{` ${market.quote} ${t.takerSide === "SELL" ? "sell" : "buy"},`}</span>
              </span>
              <span class="num">
                {formatStep(t.qty, market.stepSize)}
                <span class="sr-only">{` ${market.base},`}</span>
              </span>
              <span class="num muted">{clock(t.ts, mounted)}</span>
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
