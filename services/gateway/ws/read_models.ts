/**
 * Snapshot reads from the Redis read models the engine and the candle aggregator keep: one read per
 * channel opening (shared by every client that subscribes while it runs), never one per message.
 */
import { BookSnapshot, Execution, keys, Ticker, WalletView } from "@lib/contracts";
import type { RedisClient } from "@lib/redis";
import type { z } from "zod";
import { bookMessage, type SnapshotLoaders, tickerMessage } from "./fanout.ts";
import { msg } from "./protocol.ts";

/** How many recent trades /ws/trades/{symbol} replays on connect, as the original did. */
export const LEGACY_REPLAY = 20;

function parseModel<S extends z.ZodType>(schema: S, text: string, what: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TypeError(`Cannot read ${what}: not JSON`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new TypeError(`Cannot read ${what}: ${r.error.issues[0]?.message ?? "invalid"}`);
  return r.data as z.output<S>;
}

export function createLoaders(redis: RedisClient, prefix: string, now: () => number): SnapshotLoaders {
  return {
    async book(symbol) {
      const name = `book.${symbol}`;
      const text = await redis.get(keys.book(prefix, symbol));
      // no read model yet means no delta was ever published: seq 0, and the first delta is seq 1
      const snapshot: BookSnapshot = text === null
        ? { symbol, seq: 0, bids: [], asks: [], ts: now() }
        : parseModel(BookSnapshot, text, `the book of ${symbol}`);
      return { messages: [bookMessage.snapshot(name, snapshot)], position: snapshot.seq };
    },
    async wallet(userId) {
      const name = `wallet.${userId}`;
      const text = await redis.hGet(keys.wallets(prefix), userId);
      const view: WalletView = text == null
        ? { userId, balances: [], updatedAt: 0 }
        : parseModel(WalletView, text, `the wallet of ${userId}`);
      return { messages: [msg.data(name, "snapshot", view)], position: view.updatedAt };
    },
    async ticker(symbol) {
      const text = await redis.get(keys.ticker(prefix, symbol));
      if (text === null) return { messages: [] };
      const t = parseModel(Ticker, text, `the ticker of ${symbol}`);
      return { messages: [tickerMessage(`ticker.${symbol}`, t)], position: t.ts };
    },
    async recentTrades(symbol) {
      const texts = await redis.lRange(keys.trades(prefix, symbol), 0, LEGACY_REPLAY - 1);
      const trades: Execution[] = [];
      for (const text of texts.reverse()) { // the list is newest first; replay oldest first
        try {
          trades.push(parseModel(Execution, text, `a recent trade of ${symbol}`));
        } catch { /* a malformed entry is skipped; the live stream is the source of truth */ }
      }
      const position = trades.reduce((max, t) => Math.max(max, t.seq), 0);
      return { messages: trades.map((t) => msg.legacy("trade", t)), position };
    },
  };
}

/** Reads the tickers of some symbols in one round trip; symbols without a valid ticker are left out. */
export async function readTickers(
  redis: RedisClient,
  prefix: string,
  symbols: string[],
): Promise<Map<string, { ticker: Ticker; text: string }>> {
  const out = new Map<string, { ticker: Ticker; text: string }>();
  if (symbols.length === 0) return out;
  const texts = await redis.mGet(symbols.map((s) => keys.ticker(prefix, s)));
  symbols.forEach((symbol, i) => {
    const text = texts[i];
    if (text == null) return;
    try {
      out.set(symbol, { ticker: parseModel(Ticker, text, `the ticker of ${symbol}`), text });
    } catch { /* a bad read model is reported when a client subscribes */ }
  });
  return out;
}
