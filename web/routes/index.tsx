import { Island } from "../framework/island.tsx";
import { lastPriceOf } from "../gateway_client.ts";
import MarketsTable, { type MarketRow } from "../islands/MarketsTable.tsx";
import type { Handlers, PageProps } from "../state.ts";
import { HttpError } from "../state.ts";
import { closes } from "../utils/candles.ts";

interface Data {
  rows: MarketRow[];
}

export const title = "Markets";

export const handler: Handlers<Data> = {
  async GET(ctx) {
    // The original one-page app kept its pair and timeframe in ?pair=&tf=; those links still work.
    const pair = ctx.url.searchParams.get("pair");
    if (pair) {
      const tf = ctx.url.searchParams.get("tf");
      return Response.redirect(
        new URL(
          `/trade/${encodeURIComponent(pair.toUpperCase())}${tf ? `?tf=${encodeURIComponent(tf)}` : ""}`,
          ctx.url,
        ),
        302,
      );
    }
    const gw = ctx.state.gateway;
    const markets = await gw.markets().catch((e) => {
      throw new HttpError(
        503,
        `The exchange gateway is not answering (${e.message}). Try again in a moment.`,
      );
    });
    const [tickers, sparks] = await Promise.all([
      gw.tickers().catch(() => []),
      Promise.all(markets.map((m) => gw.candles(m.symbol, { tf: "5m", limit: 48 }).catch(() => []))),
    ]);
    const bySymbol = new Map(tickers.map((t) => [t.symbol, t]));
    const rows = markets.map((m, i): MarketRow => {
      const t = bySymbol.get(m.symbol) ?? m.ticker ?? undefined;
      return {
        symbol: m.symbol,
        base: m.base,
        quote: m.quote,
        tickSize: m.tickSize,
        status: m.status,
        last: t?.last ?? lastPriceOf(m),
        changePct: t?.changePct24h,
        high: t?.high24h,
        low: t?.low24h,
        volume: t?.volume24h,
        quoteVolume: t?.quoteVolume24h,
        spark: closes(sparks[i]),
      };
    });
    return ctx.render({ rows });
  },
};

export default function Home({ data, state }: PageProps<Data>) {
  return (
    <section class="page">
      <div class="hero">
        <h1>Spot markets</h1>
        <p class="muted">
          Live prices from the Kalency matching engine. Pick a pair to see its chart, order book and trades.
        </p>
      </div>
      <Island component={MarketsTable} props={{ gatewayUrl: state.publicGatewayUrl, rows: data.rows }} />
    </section>
  );
}
