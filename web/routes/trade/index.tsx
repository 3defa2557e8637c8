import type { Handlers } from "../../state.ts";
import { HttpError } from "../../state.ts";

/** /trade opens the first market. */
export const handler: Handlers = {
  async GET(ctx) {
    const markets = await ctx.state.gateway.markets().catch(() => []);
    if (markets.length === 0) throw new HttpError(503, "No market is available yet.");
    return Response.redirect(new URL(`/trade/${markets[0].symbol}${ctx.url.search}`, ctx.url), 302);
  },
};

export default function TradeIndex() {
  return null;
}
