import type { Execution } from "@lib/contracts";
import { formatUnitsTrimmed, parseUnits } from "@lib/money";

const S = 18;

interface SymbolModel {
  price: bigint; // at 10^-18
  tick: bigint;
  step: bigint;
  maxSteps: number;
  quoteDecimals: number;
}

const MODELS: Record<string, () => SymbolModel> = {
  "BTC-USD": () => ({
    price: parseUnits("65000", S),
    tick: parseUnits("0.01", S),
    step: parseUnits("0.0001", S),
    maxSteps: 5000,
    quoteDecimals: 6,
  }),
  "ETH-USD": () => ({
    price: parseUnits("3200", S),
    tick: parseUnits("0.01", S),
    step: parseUnits("0.001", S),
    maxSteps: 5000,
    quoteDecimals: 6,
  }),
  "BTC-ETH": () => ({
    price: parseUnits("20.3125", S),
    tick: parseUnits("0.0001", S),
    step: parseUnits("0.001", S),
    maxSteps: 2000,
    quoteDecimals: 8,
  }),
};

export interface SampleFlowOptions {
  count: number;
  /** Timestamp of the first trade (ms). @default {Date.UTC(2026, 0, 1)} */
  start?: number;
  seed?: number;
  /** Symbols traded in turn; each of BTC-USD, ETH-USD, BTC-ETH. @default {["BTC-USD", "ETH-USD"]} */
  symbols?: string[];
  /** Users that trade with each other. @default {["alice", "bob", "carol", "dave"]} */
  users?: string[];
  /** Largest gap between two trades (ms). @default {40} */
  maxGapMs?: number;
  makerFeeBps?: number;
  takerFeeBps?: number;
  /** Sequence each symbol continues from (the last one already used). */
  lastSeq?: Record<string, number>;
  /** Prefix of the trade ids. @default {"T"} */
  idPrefix?: string;
}

/**
 * A deterministic, realistic execution flow for tests and benchmarks: prices walk by ticks,
 * quantities are whole steps, buyer and seller are the right way round for each taker side, quote
 * amounts and fees are exact.
 */
export function sampleExecutions(options: SampleFlowOptions): Execution[] {
  let x = options.seed ?? 7;
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const symbols = options.symbols ?? ["BTC-USD", "ETH-USD"];
  const users = options.users ?? ["alice", "bob", "carol", "dave"];
  const makerBps = BigInt(options.makerFeeBps ?? 0);
  const takerBps = BigInt(options.takerFeeBps ?? 0);
  const models = new Map(symbols.map((s) => [s, (MODELS[s] ?? MODELS["BTC-USD"])()]));
  const seq: Record<string, number> = { ...options.lastSeq };
  const idPrefix = options.idPrefix ?? "T";
  let ts = options.start ?? Date.UTC(2026, 0, 1);
  const out: Execution[] = [];
  for (let i = 0; i < options.count; i++) {
    const symbol = symbols[i % symbols.length];
    const [, quote] = symbol.split("-");
    const m = models.get(symbol)!;
    ts += Math.floor(rand() * ((options.maxGapMs ?? 40) + 1));
    const r = rand();
    if (r < 0.25) m.price += m.tick * BigInt(1 + Math.floor(rand() * 3));
    else if (r < 0.5 && m.price > m.tick * 10n) m.price -= m.tick * BigInt(1 + Math.floor(rand() * 3));
    const qty = m.step * BigInt(1 + Math.floor(rand() * m.maxSteps));
    const quoteQty = (m.price * qty) / 10n ** BigInt(S);
    const unit = 10n ** BigInt(S - m.quoteDecimals);
    const fee = (bps: bigint) => ((quoteQty * bps) / 10_000n / unit) * unit;
    const maker = users[Math.floor(rand() * users.length)];
    let taker = users[Math.floor(rand() * users.length)];
    if (taker === maker) taker = users[(users.indexOf(maker) + 1) % users.length];
    const takerSide = rand() < 0.5 ? "BUY" : "SELL";
    seq[symbol] = (seq[symbol] ?? 0) + 1;
    const n = seq[symbol];
    const makerOrderId = `${idPrefix}o-${symbol}-${n}-m`;
    const takerOrderId = `${idPrefix}o-${symbol}-${n}-t`;
    out.push({
      tradeId: `${idPrefix}-${symbol}-${n}`,
      symbol,
      seq: n,
      price: formatUnitsTrimmed(m.price, S),
      qty: formatUnitsTrimmed(qty, S),
      quoteQty: formatUnitsTrimmed(quoteQty, S),
      makerOrderId,
      makerUserId: maker,
      takerOrderId,
      takerUserId: taker,
      takerSide,
      buyerUserId: takerSide === "BUY" ? taker : maker,
      sellerUserId: takerSide === "BUY" ? maker : taker,
      buyOrderId: takerSide === "BUY" ? takerOrderId : makerOrderId,
      sellOrderId: takerSide === "BUY" ? makerOrderId : takerOrderId,
      makerFee: formatUnitsTrimmed(fee(makerBps), S),
      takerFee: formatUnitsTrimmed(fee(takerBps), S),
      feeAsset: quote,
      ts,
    });
  }
  return out;
}
