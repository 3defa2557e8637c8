/**
 * The candle state machine: trades (or simulator ticks) in, forming and closed candles of every
 * timeframe out. Pure: no I/O and no clock; time comes from each trade's own timestamp.
 * @module
 */
import { type Candle, type Timeframe, TIMEFRAME_MS, TIMEFRAMES } from "@lib/contracts";
import {
  accToCandle,
  addTrade,
  type CandleAcc,
  CandleMathError,
  candleToAcc,
  newAcc,
  SCALE,
  toScaled,
} from "@lib/candles";

/** One trade as the aggregator needs it; decimals are strings as on the wire. */
export interface TradeInput {
  symbol: string;
  /** Per-symbol sequence; a trade at or below the last applied one is a redelivery and is ignored. */
  seq?: number;
  /**
   * The matching engine's life the sequence counts in (the `<epoch>` of `trd-<epoch>-<n>`, base-36
   * milliseconds): an engine that starts over with empty state numbers trades from 1 again, in a
   * later epoch.
   */
  epoch?: string;
  price: string;
  qty: string;
  /** Quote amount; when absent it is price x qty (simulator ticks). */
  quoteQty?: string;
  ts: number;
}

/** What changed since the last {@linkcode CandleAggregator.takeChanges}. */
export interface AggregatorChanges {
  /** Candles whose bucket ended (a later trade arrived), in the order they closed. */
  closed: Candle[];
  /** The forming candle of every timeframe of every symbol that traded. */
  forming: Candle[];
  /** Last applied sequence of every symbol that traded (trade source only). */
  seqs: Record<string, number>;
  /** Timestamp of the last trade of every symbol that traded. */
  lastTs: Record<string, number>;
  /** Symbols that traded, in first-seen order. */
  symbols: string[];
}

interface SymbolState {
  symbol: string;
  lastSeq: number;
  /** The epoch of the last applied trade (see TradeInput.epoch); unknown after a restore. */
  epoch?: string;
  /** Latest timestamp seen; a trade stamped earlier is bucketed with it so closed candles never change. */
  lastTs: number;
  forming: (CandleAcc | undefined)[];
  touched: boolean;
  priceText: string;
  price: bigint;
}

const SCALE_ONE = 10n ** BigInt(SCALE);
/**
 * Candles are stored in numeric(38, 18) columns: 20 integer digits. A trade beyond that (only a forged
 * stream entry can carry one) is refused, or its candles could never be written to PostgreSQL.
 */
const STORABLE_LIMIT = 10n ** 20n * SCALE_ONE;

/** Builds candles of every timeframe from one source's trades. */
export class CandleAggregator {
  readonly source: "trade" | "index";
  readonly timeframes: readonly Timeframe[];
  #ms: number[];
  #symbols = new Map<string, SymbolState>();
  #touched: SymbolState[] = [];
  #closed: Candle[] = [];
  /** Trades stamped before an earlier one of the same symbol (counted, bucketed with their predecessor). */
  late = 0;
  /** Trades ignored because their sequence was already applied. */
  duplicates = 0;
  /** Trades whose sequence skipped numbers (a gap in the stream). */
  gaps = 0;
  /** Times a symbol's trades came from a new engine life (see TradeInput.epoch). */
  engineRestarts = 0;

  constructor(source: "trade" | "index" = "trade", timeframes: readonly Timeframe[] = TIMEFRAMES) {
    this.source = source;
    this.timeframes = timeframes;
    this.#ms = timeframes.map((tf) => TIMEFRAME_MS[tf]);
  }

  /** Reloads state saved from earlier changes: forming candles and last sequences. */
  restore(forming: readonly Candle[], seqs: Record<string, number>): void {
    this.#symbols.clear();
    this.#touched = [];
    this.#closed = [];
    for (const c of forming) {
      if (c.source !== this.source) continue;
      const i = this.timeframes.indexOf(c.timeframe);
      if (i < 0) continue;
      const s = this.#state(c.symbol);
      s.forming[i] = candleToAcc(c);
      s.lastTs = Math.max(s.lastTs, c.openTime);
    }
    for (const [symbol, seq] of Object.entries(seqs)) this.#state(symbol).lastSeq = seq;
  }

  /** Last applied sequence of a symbol (0 when none). */
  lastSeq(symbol: string): number {
    return this.#symbols.get(symbol)?.lastSeq ?? 0;
  }

  /**
   * Applies one trade to the forming candle of every timeframe, closing those whose bucket ended.
   * Returns false (and changes nothing) when the trade's sequence was already applied.
   * @throws {CandleMathError} when an amount has more than 18 decimals, or 20 integer digits or more,
   * or is negative; nothing is changed then
   */
  apply(trade: TradeInput): boolean {
    const s = this.#state(trade.symbol);
    if (trade.epoch !== undefined && trade.epoch !== s.epoch) {
      const newer = s.epoch === undefined || parseInt(trade.epoch, 36) > parseInt(s.epoch, 36);
      if (!newer) {
        // a trade of an engine life that has already ended here: long applied
        this.duplicates++;
        return false;
      }
      if (s.epoch !== undefined) {
        // the engine started over (its state was lost): its sequence starts again
        this.engineRestarts++;
        s.lastSeq = 0;
      }
      s.epoch = trade.epoch;
    }
    if (trade.seq !== undefined) {
      if (trade.seq <= s.lastSeq) {
        this.duplicates++;
        return false;
      }
      if (s.lastSeq !== 0 && trade.seq !== s.lastSeq + 1) this.gaps++;
    }
    // parse everything before touching state, so a bad amount leaves the state as it was
    const price = trade.price === s.priceText ? s.price : toScaled(trade.price);
    const qty = toScaled(trade.qty);
    const quote = trade.quoteQty !== undefined ? toScaled(trade.quoteQty) : (price * qty) / SCALE_ONE;
    unstorable("price", price, trade.price);
    unstorable("qty", qty, trade.qty);
    unstorable("quoteQty", quote, trade.quoteQty ?? "price x qty");
    s.priceText = trade.price;
    s.price = price;
    if (trade.seq !== undefined) s.lastSeq = trade.seq;
    let ts = trade.ts;
    if (ts < s.lastTs) {
      this.late++;
      ts = s.lastTs;
    } else s.lastTs = ts;
    if (!s.touched) {
      s.touched = true;
      this.#touched.push(s);
    }
    const forming = s.forming;
    const ms = this.#ms;
    for (let i = 0; i < ms.length; i++) {
      const start = ts - (ts % ms[i]);
      const acc = forming[i];
      if (acc !== undefined && acc.openTime === start) {
        addTrade(acc, price, qty, quote);
        continue;
      }
      if (acc !== undefined) {
        this.#closed.push(accToCandle(acc, this.#series(s.symbol, i), true));
      }
      forming[i] = newAcc(start, price, qty, quote);
    }
    return true;
  }

  /** Closed candles and the touched symbols' forming candles since the last call; then forgets them. */
  takeChanges(): AggregatorChanges {
    const forming: Candle[] = [];
    const seqs: Record<string, number> = {};
    const lastTs: Record<string, number> = {};
    const symbols: string[] = [];
    for (const s of this.#touched) {
      s.touched = false;
      symbols.push(s.symbol);
      lastTs[s.symbol] = s.lastTs;
      if (s.lastSeq > 0) seqs[s.symbol] = s.lastSeq;
      s.forming.forEach((acc, i) => {
        if (acc) forming.push(accToCandle(acc, this.#series(s.symbol, i), false));
      });
    }
    const closed = this.#closed;
    this.#touched = [];
    this.#closed = [];
    return { closed, forming, seqs, lastTs, symbols };
  }

  /** Every forming candle (all symbols). */
  formingCandles(): Candle[] {
    const out: Candle[] = [];
    for (const s of this.#symbols.values()) {
      s.forming.forEach((acc, i) => {
        if (acc) out.push(accToCandle(acc, this.#series(s.symbol, i), false));
      });
    }
    return out;
  }

  #series(symbol: string, i: number) {
    return { symbol, timeframe: this.timeframes[i], source: this.source };
  }

  #state(symbol: string): SymbolState {
    let s = this.#symbols.get(symbol);
    if (!s) {
      s = {
        symbol,
        lastSeq: 0,
        lastTs: 0,
        forming: new Array(this.timeframes.length).fill(undefined),
        touched: false,
        priceText: "",
        price: 0n,
      };
      this.#symbols.set(symbol, s);
    }
    return s;
  }
}

/**
 * Aggregates a whole trade sequence from scratch: every candle, closed and forming, sorted by
 * symbol, timeframe and open time. The reference the live path is checked against.
 */
export function aggregateTrades(
  trades: Iterable<TradeInput>,
  source: "trade" | "index" = "trade",
  timeframes: readonly Timeframe[] = TIMEFRAMES,
): Candle[] {
  const agg = new CandleAggregator(source, timeframes);
  for (const t of trades) agg.apply(t);
  const { closed } = agg.takeChanges();
  return sortCandles([...closed, ...agg.formingCandles()]);
}

/** Sorts candles by symbol, timeframe (shortest first), then open time. */
export function sortCandles(candles: Candle[]): Candle[] {
  const tfIndex = (tf: Timeframe) => TIMEFRAMES.indexOf(tf);
  return candles.sort((a, b) =>
    a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : tfIndex(a.timeframe) - tfIndex(b.timeframe) ||
      a.openTime - b.openTime
  );
}

/** The engine life of a trade id `trd-<epoch>-<n>`; undefined for another form. */
export function tradeEpoch(tradeId: string): string | undefined {
  const m = /^trd-([0-9a-z]+)-[0-9]+$/.exec(tradeId);
  return m?.[1];
}

/** Throws when a scaled amount cannot be a candle's value (see {@linkcode STORABLE_LIMIT}). */
function unstorable(name: string, scaled: bigint, text: string): void {
  if (scaled >= STORABLE_LIMIT || scaled < 0n) {
    throw new CandleMathError(
      `${name} ${text} does not fit a candle's numeric(38,18) (non-negative, at most 20 integer digits)`,
    );
  }
}
