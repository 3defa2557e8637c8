/**
 * Throughput of the pure aggregator over every timeframe: `deno bench -A services/candle-aggregator/`.
 * Trades/s = 100,000 / the reported time per iteration.
 */
import { fromScaled } from "@lib/candles";
import { CandleAggregator, type TradeInput } from "./aggregator.ts";

function flow(count: number, seed = 42): TradeInput[] {
  let x = seed;
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const symbols = ["BTC-USD", "ETH-USD", "BTC-ETH"];
  const seq: Record<string, number> = {};
  const out: TradeInput[] = [];
  let ts = Date.UTC(2026, 0, 1);
  let price = 6_500_000n;
  for (let i = 0; i < count; i++) {
    const symbol = symbols[i % 3];
    seq[symbol] = (seq[symbol] ?? 0) + 1;
    ts += Math.floor(rand() * 20); // ~100 trades per second of market time
    if (rand() < 0.3) price += rand() < 0.5 ? -1n : 1n;
    const p = price * 10n ** 16n;
    const q = BigInt(1 + Math.floor(rand() * 10_000)) * 10n ** 14n;
    out.push({
      symbol,
      seq: seq[symbol],
      price: fromScaled(p),
      qty: fromScaled(q),
      quoteQty: fromScaled((p * q) / 10n ** 18n),
      ts,
    });
  }
  return out;
}

const TRADES = flow(100_000);
const BATCH = 500;

Deno.bench({
  name: "100k trades, 6 timeframes, changes taken every 500 trades",
  group: "aggregator",
  baseline: true,
  fn() {
    const agg = new CandleAggregator();
    for (let i = 0; i < TRADES.length; i++) {
      agg.apply(TRADES[i]);
      if (i % BATCH === BATCH - 1) agg.takeChanges();
    }
    agg.takeChanges();
  },
});
