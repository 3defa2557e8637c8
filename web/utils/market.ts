/**
 * The market facts islands need (filters and fees), as plain JSON props.
 * @module
 */
import { lastPriceOf, type Market } from "../gateway_client.ts";

export interface MarketInfo {
  symbol: string;
  base: string;
  quote: string;
  tickSize: string;
  stepSize: string;
  minQty: string;
  minNotional: string;
  status: string;
  makerFeeBps: number;
  takerFeeBps: number;
  last?: string;
  startPrice?: string;
}

/** A market's facts; `fees` fill in when the listing carries no fee rates. */
export function marketInfo(m: Market, fees = { makerBps: 0, takerBps: 0 }): MarketInfo {
  return {
    symbol: m.symbol,
    base: m.base,
    quote: m.quote,
    tickSize: m.tickSize,
    stepSize: m.stepSize,
    minQty: m.minQty,
    minNotional: m.minNotional,
    status: m.status,
    makerFeeBps: m.makerFeeBps ?? fees.makerBps,
    takerFeeBps: m.takerFeeBps ?? fees.takerBps,
    last: lastPriceOf(m),
    ...(m.startPrice !== undefined ? { startPrice: m.startPrice } : {}),
  };
}
