/**
 * `tools book <symbol>`: the order book read model (depth with cumulative totals and the spread),
 * once or refreshed with --watch.
 * @module
 */
import { BookSnapshot, keys } from "@lib/contracts";
import { decimalPlaces, formatUnits, parseUnits } from "@lib/money";
import type { RedisClient } from "@lib/redis";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  flag,
  intOption,
  isConnectionLoss,
  knownMarkets,
  openRedis,
  type ParsedArgs,
  sleep,
  UsageError,
} from "../command.ts";
import {
  alignDecimals,
  formatClock,
  ratioBps,
  type Style,
  subtractDecimals,
  sumDecimals,
  table,
  trimDecimal,
} from "../format.ts";

/** A level with the cumulative quantity from the best price out to it. */
export interface DepthLevel {
  price: string;
  qty: string;
  orders: number;
  total: string;
}

/** A book cut to a depth, with totals and the spread. */
export interface Depth {
  symbol: string;
  seq: number;
  ts: number;
  /** Best (highest) first. */
  bids: DepthLevel[];
  /** Best (lowest) first. */
  asks: DepthLevel[];
  spread: string | null;
  spreadBps: string | null;
  mid: string | null;
  /** The market's status (TRADING, PAUSED) when the markets read model has it. */
  status?: string;
}

function withTotals(levels: BookSnapshot["bids"], depth: number): DepthLevel[] {
  const out: DepthLevel[] = [];
  const seen: string[] = [];
  for (const l of levels.slice(0, depth)) {
    seen.push(l.qty);
    out.push({ price: l.price, qty: l.qty, orders: l.orders, total: sumDecimals(seen) });
  }
  return out;
}

/** Exact midpoint of two decimal strings. */
export function midpoint(a: string, b: string): string {
  const places = Math.max(decimalPlaces(a), decimalPlaces(b));
  const sum = parseUnits(a, places) + parseUnits(b, places);
  return trimDecimal(sum % 2n === 0n ? formatUnits(sum / 2n, places) : formatUnits(sum * 5n, places + 1));
}

/** Cuts a snapshot to `depth` levels per side and works out totals and the spread. */
export function depthOf(book: BookSnapshot, depth: number): Depth {
  const bids = withTotals(book.bids, depth);
  const asks = withTotals(book.asks, depth);
  const bestBid = book.bids[0]?.price;
  const bestAsk = book.asks[0]?.price;
  let spread: string | null = null;
  let spreadBps: string | null = null;
  let mid: string | null = null;
  if (bestBid !== undefined && bestAsk !== undefined) {
    spread = subtractDecimals(bestAsk, bestBid);
    mid = midpoint(bestBid, bestAsk);
    spreadBps = ratioBps(spread, mid) ?? null;
  }
  return { symbol: book.symbol, seq: book.seq, ts: book.ts, bids, asks, spread, spreadBps, mid };
}

/** Text lines of a depth view: asks from the farthest down to the best, the spread, then bids. */
export function formatDepth(d: Depth, style: Style): string[] {
  const asks = [...d.asks].reverse();
  const rows = [...asks, ...d.bids];
  const prices = alignDecimals(rows.map((l) => l.price));
  const qtys = alignDecimals(rows.map((l) => l.qty));
  const totals = alignDecimals(rows.map((l) => l.total));
  const body = rows.map((l, i) => {
    const isAsk = i < asks.length;
    const colour = isAsk ? style.red : style.green;
    return [
      isAsk ? colour("ask") : colour("bid"),
      colour(prices[i]),
      qtys[i],
      style.dim(totals[i]),
      String(l.orders),
    ];
  });
  const laid = table(
    ["", "PRICE", "QTY", "TOTAL", "ORDERS"].map(style.bold),
    body,
    ["left", "right", "right", "right", "right"],
  );
  const spreadLine = d.spread !== null
    ? style.yellow(
      `     spread ${d.spread}${d.spreadBps !== null ? ` (${d.spreadBps} bps)` : ""}  mid ${d.mid}`,
    )
    : style.yellow(
      `     no spread: ${d.bids.length ? "no asks" : d.asks.length ? "no bids" : "the book is empty"}`,
    );
  const paused = d.status === "PAUSED" ? `  ${style.red("PAUSED: no orders are taken")}` : "";
  const head = `${style.bold(d.symbol)}  seq ${d.seq}  ${style.dim(formatClock(d.ts))}${paused}`;
  return [head, laid[0], ...laid.slice(1, 1 + asks.length), spreadLine, ...laid.slice(1 + asks.length)];
}

/** Reads and validates the book read model of a symbol; undefined when absent. */
export async function readBook(
  redis: RedisClient,
  prefix: string,
  symbol: string,
): Promise<BookSnapshot | undefined> {
  const text = await redis.get(keys.book(prefix, symbol));
  if (text === null) return undefined;
  const r = BookSnapshot.safeParse(JSON.parse(text));
  if (!r.success) {
    throw new Error(`the book of ${symbol} does not match its contract: ${r.error.issues[0]?.message}`);
  }
  return r.data;
}

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  expectPositionals(args, 1, "book <symbol>");
  const symbol = args.positionals[0]?.toUpperCase();
  if (!symbol) throw new UsageError("name a symbol, e.g. book BTC-USD");
  const depth = intOption(args, "depth", 10, { max: 1000 });
  const watch = flag(args, "watch");
  const interval = intOption(args, "interval", 500, { min: 50, max: 60_000 });
  await using redis = await openRedis(ctx, { follow: watch });
  const { out } = ctx;
  const { prefix } = ctx.options;
  const statusOf = async () => {
    const spec = await redis.hGet(keys.markets(prefix), symbol).catch(() => null);
    try {
      return spec ? (JSON.parse(spec) as { status?: string }).status : undefined;
    } catch {
      return undefined;
    }
  };
  const show = async (book: BookSnapshot) => {
    const d = { ...depthOf(book, depth), status: await statusOf() };
    if (watch) out.clearScreen();
    out.record({ kind: "book", ...d }, formatDepth(d, out.style));
  };
  const first = await readBook(redis, prefix, symbol);
  if (!first && !watch) {
    const markets = await knownMarkets(redis, prefix);
    throw new Error(
      `no book for ${symbol} under ${prefix} (${
        markets.length ? `markets: ${markets.join(", ")}` : "no markets: is the matching engine running?"
      })`,
    );
  }
  if (first) await show(first);
  if (!watch) return 0;
  let last = first ? `${first.seq}/${first.ts}` : "";
  if (!first) out.error(`waiting for a book of ${symbol} under ${prefix} (Ctrl-C to stop)`);
  while (!ctx.signal.aborted) {
    await sleep(interval, ctx.signal);
    if (ctx.signal.aborted) break;
    let book;
    try {
      book = await readBook(redis, prefix, symbol);
    } catch (e) {
      // a read cut by a lost connection: openRedis said so and reconnects; Ctrl-C ends the watch
      if (ctx.signal.aborted) break;
      if (!isConnectionLoss(e)) throw e;
      continue;
    }
    const mark = book ? `${book.seq}/${book.ts}` : "";
    if (book && mark !== last) await show(book);
    last = mark;
  }
  return 0;
}

export const bookCommand: Command = {
  name: "book",
  summary: "print the order book of a symbol with cumulative totals and the spread",
  usage: ["book <symbol> [--depth N] [--watch [--interval MS]]"],
  description: [
    "Reads the book read model the matching engine keeps (<prefix>:book:<symbol>): asks from the farthest",
    "level down to the best, the spread and midpoint, then bids from the best down. TOTAL is the quantity",
    "available from the best price out to that level. --watch redraws whenever the book changes.",
  ].join("\n"),
  examples: ["book BTC-USD", "book ETH-USD --depth 5 --watch"],
  options: {
    depth: { type: "string", value: "N", description: "levels per side (default 10)" },
    watch: { type: "boolean", description: "keep refreshing until Ctrl-C" },
    interval: { type: "string", value: "MS", description: "how often --watch polls (default 500)" },
  },
  run,
};
