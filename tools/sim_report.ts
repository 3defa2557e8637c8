/**
 * The realism check of a simulated market: from the trades of the last N minutes of a symbol
 * (`stream:executions`, or the `trade_ledger` table when the stream no longer covers the window),
 * the stylized facts of real markets beside their textbook values: excess kurtosis of one-minute
 * returns, autocorrelation of returns at lag 1, autocorrelation of absolute returns at lags 1..10,
 * the average spread (quoted, from `stream:book`; effective, from trades) and trades per second.
 * @module
 */
import { BookDelta, Execution, keys, streamKey, STREAMS } from "@lib/contracts";
import { connectDb } from "@lib/db";
import { connectRedis, decodeEntry, expandEntries, type RawEntry, type RedisClient } from "@lib/redis";
import {
  bucketCloses,
  checkFacts,
  type LevelChange,
  mean,
  quotedSpreadBps,
  returnFacts,
  rollSpread,
  TEXTBOOK,
  type TradePoint,
} from "../services/market-sim/stylized_facts.ts";

export interface SimReportOptions {
  redisUrl: string;
  /** Used when the executions stream does not cover the window (trimmed, or another Redis). */
  databaseUrl?: string;
  prefix: string;
  symbol: string;
  minutes: number;
  /** Print one JSON document instead of the table. */
  json?: boolean;
  /** End of the window in ms (default: now). */
  untilMs?: number;
  /** Where the report goes, line by line (default: stdout). */
  write?: (line: string) => void;
}

export interface SimReport {
  symbol: string;
  fromMs: number;
  toMs: number;
  /** Where the trades came from. */
  source: "stream" | "ledger" | "none";
  trades: number;
  tradesPerSecond: number;
  /** One-minute returns the statistics use. */
  returns: number;
  excessKurtosis: number | null;
  acf1: number | null;
  /** Autocorrelation of |returns| at lags 1..10. */
  absAcf: (number | null)[];
  /** Time-weighted quoted spread from the book stream, in basis points of the mid. */
  quotedSpreadBps: number | null;
  /** Roll's effective spread from trade prices, in basis points of the mean price. */
  rollSpreadBps: number | null;
  pass: { excessKurtosis: boolean; acf1: boolean; absAcf1: boolean };
  notes: string[];
}

const PAGE = 5000;
/** Book changes read before the window to rebuild the book it starts with. */
const BOOK_WARMUP_MS = 60_000;

/** Reads a stream from `fromMs` (by entry id) page by page, keeping entries that mention the symbol. */
async function* scan(redis: RedisClient, key: string, fromMs: number, toMs: number, symbol: string) {
  const needle = `"symbol":"${symbol}"`;
  let start = `${Math.max(0, fromMs)}-0`;
  for (;;) {
    const page = (await redis.xRange(key, start, "+", { COUNT: PAGE })) as unknown as RawEntry[];
    const hits = expandEntries(page).filter((e) => e.message.payload?.includes(needle));
    if (hits.length) yield hits;
    if (page.length < PAGE) return;
    const last = page[page.length - 1].id;
    if (Number(last.split("-")[0]) >= toMs + 60_000) return; // far past the window
    start = `(${last}`;
  }
}

async function tradesFromStream(
  redis: RedisClient,
  o: SimReportOptions,
  fromMs: number,
  toMs: number,
): Promise<{ trades: TradePoint[]; covers: boolean }> {
  const key = streamKey(o.prefix, STREAMS.executions);
  const first = (await redis.xRange(key, "-", "+", { COUNT: 1 }))?.[0];
  // entries are written when the trade happens, so a stream starting after the window's start was trimmed
  const covers = first !== undefined && Number(first.id.split("-")[0]) <= fromMs;
  const trades: TradePoint[] = [];
  for await (const batch of scan(redis, key, fromMs - 5_000, toMs, o.symbol)) {
    for (const e of batch) {
      const d = decodeEntry(STREAMS.executions, e);
      if (!d.ok) continue;
      const t = d.value as Execution;
      if (t.symbol === o.symbol && t.ts >= fromMs && t.ts < toMs) {
        trades.push({ ts: t.ts, price: Number(t.price), qty: Number(t.qty) });
      }
    }
  }
  trades.sort((a, b) => a.ts - b.ts);
  return { trades, covers };
}

async function tradesFromLedger(
  url: string,
  symbol: string,
  fromMs: number,
  toMs: number,
): Promise<TradePoint[]> {
  const sql = connectDb(url, { max: 1 });
  try {
    const rows = await sql<{ price: string; qty: string; ts: string }[]>`
      SELECT price::text AS price, qty::text AS qty,
             (extract(epoch FROM executed_at) * 1000)::bigint::text AS ts
      FROM trade_ledger
      WHERE symbol = ${symbol}
        AND executed_at >= to_timestamp(${fromMs / 1000}) AND executed_at < to_timestamp(${toMs / 1000})
      ORDER BY executed_at, seq`;
    return rows.map((r) => ({ ts: Number(r.ts), price: Number(r.price), qty: Number(r.qty) }));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function bookChanges(
  redis: RedisClient,
  o: SimReportOptions,
  fromMs: number,
  toMs: number,
): Promise<LevelChange[]> {
  const key = streamKey(o.prefix, STREAMS.book);
  const out: LevelChange[] = [];
  for await (const batch of scan(redis, key, fromMs - BOOK_WARMUP_MS, toMs, o.symbol)) {
    for (const e of batch) {
      const d = decodeEntry(STREAMS.book, e);
      if (d.ok && (d.value as BookDelta).symbol === o.symbol) out.push(d.value as BookDelta);
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

const finite = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

/** Computes the report (pure) from trades and book changes of a window. */
export function buildSimReport(
  symbol: string,
  fromMs: number,
  toMs: number,
  source: SimReport["source"],
  trades: TradePoint[],
  changes: LevelChange[],
): SimReport {
  // returns of whole minutes only: the minute under way would give a return over part of a minute
  // beside full ones, which skews the kurtosis and autocorrelations
  const closes = bucketCloses(trades, 60_000, fromMs, Math.floor(toMs / 60_000) * 60_000);
  const f = returnFacts(closes);
  const prices = trades.map((t) => t.price);
  const roll = rollSpread(prices);
  const notes: string[] = [];
  // the trades cover this much of the window: a window longer than the data says nothing more
  const firstTrade = trades.length ? Math.max(fromMs, Math.min(...trades.map((t) => t.ts))) : toMs;
  const coveredMs = Math.max(1000, toMs - firstTrade);
  if (f.returns < 60) {
    const hint = firstTrade - fromMs > 60_000
      ? "the trades start later than the window: the simulator has not run longer"
      : "ask for more minutes";
    notes.push(`only ${f.returns} one-minute returns: the statistics are noisy below about 60 (${hint})`);
  }
  if (trades.length === 0) notes.push("no trades in the window: is the simulator running with bots?");
  const quoted = quotedSpreadBps(changes, fromMs, toMs);
  if (quoted === undefined) {
    notes.push("no two-sided book in stream:book during the window: quoted spread unknown");
  }
  return {
    symbol,
    fromMs,
    toMs,
    source,
    trades: trades.length,
    // over the time the trades cover, not the window asked for
    tradesPerSecond: trades.length / (coveredMs / 1000),
    returns: f.returns,
    excessKurtosis: finite(f.excessKurtosis),
    acf1: finite(f.acf1),
    absAcf: f.absAcf.map(finite),
    quotedSpreadBps: finite(quoted),
    rollSpreadBps: roll !== undefined && prices.length ? roll / mean(prices) * 10_000 : null,
    pass: checkFacts(f),
    notes,
  };
}

const num = (x: number | null, digits = 3) => (x === null ? "n/a" : x.toFixed(digits));
const mark = (ok: boolean) => (ok ? "ok " : "off");

/** The report as a table beside the textbook values. */
export function formatSimReport(r: SimReport): string[] {
  const minutes = Math.round((r.toMs - r.fromMs) / 60_000);
  const rows: [string, string, string, string][] = [
    [
      "excess kurtosis, 1-min returns",
      num(r.excessKurtosis, 2),
      mark(r.pass.excessKurtosis),
      TEXTBOOK.excessKurtosis.text,
    ],
    ["acf(returns), lag 1", num(r.acf1), mark(r.pass.acf1), TEXTBOOK.acf1.text],
    [
      "acf(|returns|), lags 1..10",
      r.absAcf.map((x) => num(x, 2)).join(" "),
      mark(r.pass.absAcf1),
      TEXTBOOK.absAcf1.text,
    ],
    [
      "quoted spread (book), bps",
      num(r.quotedSpreadBps, 2),
      "   ",
      "major pairs: about 0.1 to a few bps; thin pairs wider",
    ],
    ["effective spread (Roll), bps", num(r.rollSpreadBps, 2), "   ", "close to the quoted spread"],
    ["trades per second", num(r.tradesPerSecond, 2), "   ", "venue and pair dependent"],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  return [
    `Stylized facts of ${r.symbol} over the last ${minutes} min: ${r.trades} trades from ${
      r.source === "stream" ? "stream:executions" : r.source === "ledger" ? "trade_ledger" : "nowhere"
    }, ${r.returns} one-minute returns`,
    `${"fact".padEnd(w0)}  ${"simulated".padEnd(w1)}  chk  textbook`,
    ...rows.map(([a, b, c, d]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}  ${d}`),
    ...r.notes.map((n) => `note: ${n}`),
  ];
}

/**
 * Computes and prints the realism report of a symbol over the last `minutes`. Returns the report.
 * @example await runSimReport({ redisUrl: "redis://127.0.0.1:6379", prefix: "kalency:v1", symbol: "BTC-USD", minutes: 60 })
 */
export async function runSimReport(o: SimReportOptions): Promise<SimReport> {
  const toMs = o.untilMs ?? Date.now();
  const fromMs = toMs - o.minutes * 60_000;
  const redis = await connectRedis(o.redisUrl, { reconnect: false });
  let report: SimReport;
  try {
    // a symbol the engine does not list would give an empty report that looks like a quiet market
    const listed = await redis.hKeys(keys.markets(o.prefix));
    if (listed.length > 0 && !listed.includes(o.symbol)) {
      throw new Error(`symbol ${o.symbol} is not listed; markets: ${listed.sort().join(", ")}`);
    }
    let { trades, covers } = await tradesFromStream(redis, o, fromMs, toMs);
    let source: SimReport["source"] = trades.length ? "stream" : "none";
    if (!covers && o.databaseUrl) {
      const fromLedger = await tradesFromLedger(o.databaseUrl, o.symbol, fromMs, toMs);
      if (fromLedger.length > trades.length) {
        trades = fromLedger;
        source = "ledger";
      }
    }
    report = buildSimReport(
      o.symbol,
      fromMs,
      toMs,
      source,
      trades,
      await bookChanges(redis, o, fromMs, toMs),
    );
  } finally {
    await redis.close();
  }
  const write = o.write ?? ((line: string) => console.log(line));
  if (o.json) write(JSON.stringify(report));
  else for (const line of formatSimReport(report)) write(line);
  return report;
}
