import type { z } from "zod";
import { EngineCommand } from "./commands.ts";
import { BookDelta, EngineReply, Execution, OrderEvent, WalletEvent } from "./events.ts";
import { Candle, SimControl, Tick } from "./market_data.ts";

/** A Redis stream: its name under the prefix and the schema of every entry's payload. */
export interface StreamDef<S extends z.ZodType = z.ZodType> {
  /** Short name, as `deno task tools tail <name>` accepts it. */
  readonly name: string;
  readonly schema: S;
  /** The `type` field written beside the payload, for humans tailing the stream. */
  readonly entryType: (message: z.output<S>) => string;
}

function defineStream<S extends z.ZodType>(
  name: string,
  schema: S,
  entryType: (message: z.output<S>) => string,
): StreamDef<S> {
  return { name, schema, entryType };
}

/** Every stream Kalency writes, keyed `<prefix>:stream:<name>`. */
export const STREAMS = {
  orders: defineStream("orders", EngineCommand, (m) => m.type),
  executions: defineStream("executions", Execution, () => "execution"),
  orderEvents: defineStream("order-events", OrderEvent, (m) => m.event),
  wallet: defineStream("wallet", WalletEvent, (m) => m.reason),
  book: defineStream("book", BookDelta, () => "delta"),
  ticks: defineStream("ticks", Tick, () => "tick"),
  candles: defineStream("candles", Candle, (m) => m.timeframe),
  simControl: defineStream("sim-control", SimControl, (m) => m.action),
} as const;

/**
 * How long a reply stream lives after its last write or trim: the stream of a sender that went away
 * (a crashed gateway, a tools command that gave up waiting) is removed by Redis.
 */
export const REPLY_STREAM_TTL_MS = 3_600_000;

/** The reply stream of one gateway (or other sender) instance. */
export function replyStream(senderId: string): StreamDef<typeof EngineReply> {
  return defineStream(`replies:${senderId}`, EngineReply, (m) => (m.ok ? "ok" : "rejected"));
}

/** Full Redis key of a stream under a prefix. */
export function streamKey(prefix: string, stream: StreamDef | string): string {
  return `${prefix}:stream:${typeof stream === "string" ? stream : stream.name}`;
}

/** Finds a stream definition by its short name ("executions", "replies:gw-1"). */
export function streamByName(name: string): StreamDef | undefined {
  const found = Object.values(STREAMS).find((s) => s.name === name);
  if (found) return found;
  if (name.startsWith("replies:")) return replyStream(name.slice("replies:".length));
  return undefined;
}

/**
 * Read-model keys the matching engine maintains in the same MULTI as its outputs, so a reader never
 * sees a state the streams do not explain. All values are JSON of the contracts' view types.
 */
export const keys = {
  /** Last applied command id (string stream id). */
  checkpoint: (p: string) => `${p}:engine:checkpoint`,
  /** The market simulator's status JSON (written by market-sim, read by the admin status route). */
  simStatus: (p: string) => `${p}:sim:status`,
  /** The latest engine snapshot. */
  snapshot: (p: string) => `${p}:engine:snapshot`,
  /** Hash: symbol -> MarketSpec JSON (with its current status). */
  markets: (p: string) => `${p}:markets`,
  /** Hash: userId -> WalletView JSON. */
  wallets: (p: string) => `${p}:wallets`,
  /** String: OrderAck JSON of one order (open, or closed with a TTL). */
  order: (p: string, orderId: string) => `${p}:order:${orderId}`,
  /** Sorted set of a user's open order ids, scored by creation time. */
  openOrders: (p: string, userId: string) => `${p}:open:${userId}`,
  /** Sorted set of a user's recent order ids (all states), scored by creation time. */
  orderHistory: (p: string, userId: string) => `${p}:orders:${userId}`,
  /** List of a user's recent fills (Execution JSON, newest first). */
  userTrades: (p: string, userId: string) => `${p}:fills:${userId}`,
  /** String: BookSnapshot JSON of the top levels of a symbol. */
  book: (p: string, symbol: string) => `${p}:book:${symbol}`,
  /** List of a symbol's recent executions (JSON, newest first), trimmed. */
  trades: (p: string, symbol: string) => `${p}:trades:${symbol}`,
  /**
   * Hash: stream name -> messages ever added by a writer that packs them (see @lib/redis). Redis'
   * `entries-added` counts packed entries; this counts what they carried.
   */
  messagesAdded: (p: string) => `${p}:stats:messages-added`,
  /** String: Ticker JSON of a symbol (kept by the candle aggregator). */
  ticker: (p: string, symbol: string) => `${p}:ticker:${symbol}`,
} as const;
