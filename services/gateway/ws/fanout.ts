/**
 * From decoded stream messages to channel messages: which channel each message belongs to, what it
 * looks like on the wire, and which channels start with a snapshot. Pure: the snapshot loaders are
 * passed in.
 */
import type { BookDelta, Candle, Execution, OrderEvent, Tick, Ticker, WalletEvent } from "@lib/contracts";
import { candleChannel, type ChannelRef } from "./channels.ts";
import type { ChannelSpec, Hub, Snapshot } from "./hub.ts";
import { msg } from "./protocol.ts";

/** Reads of the Redis read models that start a channel. */
export interface SnapshotLoaders {
  book(symbol: string): Promise<Snapshot>;
  wallet(userId: string): Promise<Snapshot>;
  ticker(symbol: string): Promise<Snapshot>;
  /** Up to 20 recent trades, oldest first, as legacy frames; position = highest trade seq. */
  recentTrades(symbol: string): Promise<Snapshot>;
}

/** Internal channel names of the legacy routes ("~" never starts a client channel name). */
export const legacyTradesChannel = (symbol: string) => `~trades.${symbol}`;
export const legacyTicksChannel = (symbol: string) => `~ticks.${symbol}`;

/** How a /v1/ws channel is opened. */
export function channelSpec(ref: ChannelRef, loaders: SnapshotLoaders): ChannelSpec {
  switch (ref.kind) {
    case "book":
      return { name: ref.name, kind: ref.kind, ordering: "seq", load: () => loaders.book(ref.symbol) };
    case "wallet":
      return { name: ref.name, kind: ref.kind, ordering: "ts", load: () => loaders.wallet(ref.userId) };
    case "ticker":
      return { name: ref.name, kind: ref.kind, ordering: "ts", load: () => loaders.ticker(ref.symbol) };
    default:
      return { name: ref.name, kind: ref.kind };
  }
}

export function legacyTradesSpec(symbol: string, loaders: SnapshotLoaders): ChannelSpec {
  return {
    name: legacyTradesChannel(symbol),
    kind: "legacy_trades",
    ordering: "seq",
    load: () => loaders.recentTrades(symbol),
  };
}

export function legacyTicksSpec(symbol: string): ChannelSpec {
  return { name: legacyTicksChannel(symbol), kind: "legacy_ticks" };
}

/** Messages of the book read model and channel. `seq` sits beside `data` for the gap rule. */
export const bookMessage = {
  snapshot: (name: string, data: { seq: number }) => msg.data(name, "snapshot", data, { seq: data.seq }),
  delta: (name: string, data: BookDelta) => msg.data(name, "delta", data, { seq: data.seq }),
};

export function tickerMessage(name: string, t: Ticker): string {
  return msg.data(name, "ticker", t);
}

export interface Dispatcher {
  execution(e: Execution): void;
  bookDelta(d: BookDelta): void;
  orderEvent(e: OrderEvent): void;
  walletEvent(e: WalletEvent): void;
  candle(c: Candle): void;
  tick(t: Tick): void;
}

/** What the feed reads before validating a message: enough to name the channels it may go to. */
type RawMessage = Record<string, unknown> & { order?: Record<string, unknown> };

/**
 * For each stream: the channel kinds that take its messages and the channels one message may go
 * to, computed from its raw JSON. The feed validates (and builds) a message only when some client
 * listens on one of them, and skips a stream's entries entirely while no channel of its kinds has
 * a subscriber.
 */
export const STREAM_CHANNELS: Record<keyof Dispatcher, { kinds: string[]; names(m: RawMessage): string[] }> =
  {
    execution: {
      kinds: ["trades", "legacy_trades"],
      names: (m) => [`trades.${m.symbol}`, legacyTradesChannel(String(m.symbol))],
    },
    bookDelta: { kinds: ["book"], names: (m) => [`book.${m.symbol}`] },
    orderEvent: { kinds: ["orders"], names: (m) => [`orders.${m.order?.userId}`] },
    walletEvent: { kinds: ["wallet"], names: (m) => [`wallet.${m.userId}`] },
    candle: {
      kinds: ["candles"],
      names: (m) => [candleChannel(String(m.symbol), String(m.timeframe), m.source as string | undefined)],
    },
    tick: {
      kinds: ["ticks", "legacy_ticks"],
      names: (m) => [`ticks.${m.symbol}`, legacyTicksChannel(String(m.symbol))],
    },
  };

/**
 * Routes each stream message to its channels. A message is serialised once, and only when some
 * client listens. `bookSeq` sees the seq of every book delta, listened to or not, and reports an
 * upstream seq jump to `onBookGap` (the engine's deltas are 1, 2, 3, ...).
 */
export function createDispatcher(
  hub: Hub,
  onBookGap?: (symbol: string, expected: number, got: number) => void,
): Dispatcher & { bookSeq(symbol: string, seq: number): void; forgetBookSeqs(): void } {
  const lastBookSeq = new Map<string, number>();
  return {
    /** Starts the gap check afresh (the book stream was not read for a while). */
    forgetBookSeqs() {
      lastBookSeq.clear();
    },
    bookSeq(symbol, seq) {
      const last = lastBookSeq.get(symbol);
      if (last !== undefined && seq !== last + 1 && seq > last) onBookGap?.(symbol, last + 1, seq);
      if (last === undefined || seq > last) lastBookSeq.set(symbol, seq);
    },
    execution(e) {
      const name = `trades.${e.symbol}`;
      if (hub.wants(name)) hub.deliver(name, msg.data(name, "trade", e));
      const legacy = legacyTradesChannel(e.symbol);
      if (hub.wants(legacy)) hub.deliver(legacy, msg.legacy("trade", e), e.seq);
    },
    bookDelta(d) {
      const name = `book.${d.symbol}`;
      if (hub.wants(name)) hub.deliver(name, bookMessage.delta(name, d), d.seq);
    },
    orderEvent(e) {
      const name = `orders.${e.order.userId}`;
      if (hub.wants(name)) hub.deliver(name, msg.data(name, "order", e));
    },
    walletEvent(e) {
      const name = `wallet.${e.userId}`;
      if (hub.wants(name)) hub.deliver(name, msg.data(name, "wallet", e), e.ts);
    },
    candle(c) {
      const name = candleChannel(c.symbol, c.timeframe, c.source);
      if (hub.wants(name)) hub.deliver(name, msg.data(name, "candle", c));
    },
    tick(t) {
      const name = `ticks.${t.symbol}`;
      if (hub.wants(name)) hub.deliver(name, msg.data(name, "tick", t));
      const legacy = legacyTicksChannel(t.symbol);
      if (hub.wants(legacy)) {
        hub.deliver(
          legacy,
          msg.legacy("tick", { symbol: t.symbol, price: t.price, volume: t.volume, ts: t.ts }),
        );
      }
    },
  };
}
