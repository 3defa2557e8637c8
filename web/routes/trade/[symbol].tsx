import { Island } from "../../framework/island.tsx";
import type { Book, Candle, Ticker, Trade } from "../../gateway_client.ts";
import CandleChart from "../../islands/CandleChart.tsx";
import MarketHeader from "../../islands/MarketHeader.tsx";
import MyOrders, { type MarketSteps } from "../../islands/MyOrders.tsx";
import OrderBook from "../../islands/OrderBook.tsx";
import OrderForm from "../../islands/OrderForm.tsx";
import PairsSidebar, { type PairRow } from "../../islands/PairsSidebar.tsx";
import TradesTape from "../../islands/TradesTape.tsx";
import type { Handlers, PageProps } from "../../state.ts";
import { HttpError } from "../../state.ts";
import { type ChartRange, type ChartTimeframe, isChartRange, isChartTimeframe } from "../../utils/candles.ts";
import { type MarketInfo, marketInfo } from "../../utils/market.ts";

interface Data {
  market: MarketInfo;
  pairs: PairRow[];
  steps: MarketSteps;
  ticker?: Ticker;
  book: Book;
  trades: Trade[];
  candles: Candle[];
  tf: ChartTimeframe;
  range?: ChartRange;
}

const BOOK_DEPTH = 16;

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const symbol = ctx.params.symbol.toUpperCase();
    if (symbol !== ctx.params.symbol) {
      const to = new URL(ctx.url);
      to.pathname = `/trade/${symbol}`;
      return Response.redirect(to, 301);
    }
    const tfParam = ctx.url.searchParams.get("tf");
    const tf: ChartTimeframe = isChartTimeframe(tfParam) ? tfParam : "1m";
    const rangeParam = ctx.url.searchParams.get("range");
    const range = isChartRange(rangeParam) ? rangeParam : undefined;
    const gw = ctx.state.gateway;
    const markets = await gw.markets().catch((e) => {
      throw new HttpError(
        503,
        `The exchange gateway is not answering (${e.message}). Try again in a moment.`,
      );
    });
    const m = markets.find((x) => x.symbol === symbol);
    if (!m) throw new HttpError(404, `There is no market ${symbol}.`);
    const empty: Book = { symbol, seq: 0, bids: [], asks: [] };
    const [tickers, book, trades, candles] = await Promise.all([
      gw.tickers().catch(() => [] as Ticker[]),
      gw.book(symbol, BOOK_DEPTH).catch(() => empty),
      gw.trades(symbol, 50).catch(() => [] as Trade[]),
      gw.candles(symbol, { tf, limit: 500 }).catch(() => [] as Candle[]),
    ]);
    const bySymbol = new Map(tickers.map((t) => [t.symbol, t]));
    const ticker = bySymbol.get(symbol);
    const market = marketInfo(m, ctx.state.fees);
    if (ticker) market.last = ticker.last;
    return ctx.render({
      market,
      pairs: markets.map((x) => ({
        symbol: x.symbol,
        base: x.base,
        quote: x.quote,
        tickSize: x.tickSize,
        last: bySymbol.get(x.symbol)?.last ?? marketInfo(x).last,
        changePct: bySymbol.get(x.symbol)?.changePct24h,
        status: x.status,
      })),
      steps: Object.fromEntries(
        markets.map((
          x,
        ) => [x.symbol, { tickSize: x.tickSize, stepSize: x.stepSize, base: x.base, quote: x.quote }]),
      ),
      ticker,
      book,
      // The gateway lists trades oldest first; the tape shows the newest on top. Only what it shows.
      trades: trades.slice().reverse().map(({ tradeId, symbol, seq, price, qty, takerSide, ts }) => ({
        tradeId,
        symbol,
        seq,
        price,
        qty,
        takerSide,
        ts,
      })),
      // only what the chart draws: the props travel inside the page
      candles: candles.map(({ openTime, open, high, low, close, volume }) => ({
        openTime,
        open,
        high,
        low,
        close,
        volume,
      })),
      tf,
      range,
    }, { title: `${symbol}` });
  },
};

export default function TradePage({ data, state }: PageProps<Data>) {
  const gatewayUrl = state.publicGatewayUrl;
  const { market } = data;
  return (
    <div class="trade-layout">
      <div class="area-pairs">
        <Island
          component={PairsSidebar}
          props={{ gatewayUrl, current: market.symbol, tf: data.tf, pairs: data.pairs }}
        />
      </div>
      <div class="area-header">
        <Island component={MarketHeader} props={{ gatewayUrl, market, ticker: data.ticker }} />
      </div>
      <div class="area-chart">
        <Island
          component={CandleChart}
          props={{
            gatewayUrl,
            symbol: market.symbol,
            base: market.base,
            tickSize: market.tickSize,
            tf: data.tf,
            range: data.range,
            candles: data.candles,
          }}
        />
      </div>
      <div class="area-book">
        <Island component={OrderBook} props={{ gatewayUrl, market, book: data.book, depth: BOOK_DEPTH }} />
      </div>
      <div class="area-trades">
        <Island component={TradesTape} props={{ gatewayUrl, market, trades: data.trades }} />
      </div>
      <div class="area-form">
        <Island component={OrderForm} props={{ gatewayUrl, market }} />
      </div>
      <div class="area-orders">
        <Island component={MyOrders} props={{ gatewayUrl, markets: data.steps, symbol: market.symbol }} />
      </div>
    </div>
  );
}
