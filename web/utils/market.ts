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
}

export function marketInfo(m: Market): MarketInfo {
  return {
    symbol: m.symbol,
    base: m.base,
    quote: m.quote,
    tickSize: m.tickSize,
    stepSize: m.stepSize,
    minQty: m.minQty,
    minNotional: m.minNotional,
    status: m.status,
    makerFeeBps: m.makerFeeBps ?? 0,
    takerFeeBps: m.takerFeeBps ?? 0,
    last: lastPriceOf(m),
  };
}
