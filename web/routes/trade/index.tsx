import type { Handlers } from "../../state.ts";
import { HttpError } from "../../state.ts";
import { defaultSymbol } from "../../utils/market.ts";

/** /trade opens BTC-USD, or the first market when BTC-USD is not listed. */
export const handler: Handlers = {
  async GET(ctx) {
    const markets = await ctx.state.gateway.markets().catch(() => []);
    const symbol = defaultSymbol(markets.map((m) => m.symbol));
    if (symbol === undefined) throw new HttpError(503, "No market is available yet.");
    return Response.redirect(new URL(`/trade/${symbol}${ctx.url.search}`, ctx.url), 302);
  },
};

export default function TradeIndex() {
  return null;
}
