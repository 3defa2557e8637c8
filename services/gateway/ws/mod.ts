/**
 * The gateway's market feed: WebSocket channels at `/v1/ws` and the original Kalency's
 * `/ws/trades/{symbol}` and `/ws/ticks/{symbol}`.
 *
 * One reader per process (one plain XREAD over the streams some client listens to, on its own Redis
 * connection) feeds an in-memory hub that fans messages out to subscribed clients; snapshots come
 * from the Redis read models, one read per channel opening. The protocol is described in
 * docs/websocket.md.
 *
 * @example
 * ```ts
 * const feed = await createMarketFeed({ redisUrl, prefix, log, metrics, authenticate, signal });
 * app.route("/", feed.routes);
 * // on shutdown: await feed.close(); then stop the HTTP server
 * ```
 * @module
 */
import { keys as keysOf, type StreamDef, streamKey, STREAMS } from "@lib/contracts";
import type { Logger } from "@lib/log";
import type { Registry } from "@lib/metrics";
import {
  connectRedis,
  expandEntries,
  followStreams,
  type RawEntry,
  type RedisClient,
  streamIdMs,
} from "@lib/redis";
import type { Context, Hono } from "hono";
import { unknownSymbol } from "../errors.ts";
import { CHANNEL_KINDS } from "./channels.ts";
import { createDispatcher, type Dispatcher, STREAM_CHANNELS, tickerMessage } from "./fanout.ts";
import { Hub, ROUTES } from "./hub.ts";
import { msg } from "./protocol.ts";
import { createLoaders, readTickers } from "./read_models.ts";
import { createRoutes } from "./routes.ts";
import { createSession } from "./session.ts";

export interface MarketFeedDeps {
  redisUrl: string;
  prefix: string;
  log: Logger;
  metrics: Registry;
  /** JWT access token or API key token -> identity, or undefined when invalid/expired. */
  authenticate(token: string): Promise<{ userId: string; role: "user" | "admin" } | undefined>;
  signal: AbortSignal;
  options?: {
    heartbeatMs?: number;
    maxBufferedBytes?: number;
    batchMs?: number;
    /** A stream nobody listened to for this long stops being read. @default {IDLE_STREAM_MS} */
    idleStreamMs?: number;
    /** Open connections one client address may hold; 0 for no cap. @default {DEFAULT_MAX_PER_ADDRESS} */
    maxPerAddress?: number;
    /** The client's address of a request (the rate limits' view). */
    addressOf?: (c: Context) => string;
    /** How often the login of a connection holding private channels is checked again. @default {PRIVATE_RECHECK_MS} */
    privateRecheckMs?: number;
  };
}

export const DEFAULT_HEARTBEAT_MS = 5_000;
/**
 * A connection's private channels outlive neither its access token nor its API key by more than
 * this: its login is checked again this often (the first check after a token's expiry ends them).
 */
export const PRIVATE_RECHECK_MS = 30_000;
/** Open WebSocket connections one client address may hold (one connection carries 100 channels). */
export const DEFAULT_MAX_PER_ADDRESS = 500;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** 0: messages read from Redis together go out together, with no added delay (measured, docs/benchmarks.md). */
export const DEFAULT_BATCH_MS = 0;
/** Tickers have no stream; their read model is polled (one MGET for all subscribed symbols). */
const TICKER_POLL_MS = 1000;
/** How long close() waits for clients to acknowledge the close frame. */
const DRAIN_MS = 2000;

/**
 * A stream is read only while some client listens to a channel it feeds: the first subscription
 * starts it, and it stops once nobody listened for this long. A gateway nobody watches reads nothing.
 */
const IDLE_STREAM_MS = 10_000;
/** Longest blocking read; a stream that starts joins the reads within this. */
const READ_BLOCK_MS = 250;

/** The streams the feed follows, each with the dispatcher method its messages go to. */
const FOLLOWED: readonly (readonly [keyof Dispatcher, StreamDef])[] = [
  ["execution", STREAMS.executions],
  ["bookDelta", STREAMS.book],
  ["orderEvent", STREAMS.orderEvents],
  ["walletEvent", STREAMS.wallet],
  ["candle", STREAMS.candles],
  ["tick", STREAMS.ticks],
];

/**
 * Starts the stream reader and returns the routes to mount. A stream is read from the moment a
 * client subscribes to a channel it feeds, so anything published after the subscription is
 * acknowledged reaches the client.
 */
export async function createMarketFeed(
  deps: MarketFeedDeps,
): Promise<{ routes: Hono; close(): Promise<void>; clientCount(): number }> {
  const { prefix, metrics } = deps;
  const log = deps.log.child({ component: "ws" });
  const heartbeatMs = deps.options?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const maxBufferedBytes = deps.options?.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const batchMs = deps.options?.batchMs ?? DEFAULT_BATCH_MS;
  const idleStreamMs = deps.options?.idleStreamMs ?? IDLE_STREAM_MS;
  const stop = new AbortController();

  const sent = metrics.counter("gateway_ws_messages_sent_total", "WebSocket messages sent, by route");
  const frames = metrics.counter(
    "gateway_ws_frames_sent_total",
    "WebSocket frames sent (a frame may batch messages)",
  );
  const dropped = metrics.counter(
    "gateway_ws_slow_clients_dropped_total",
    "Clients disconnected because their unsent data passed the buffer limit",
  );
  const fanout = metrics.histogram(
    "gateway_ws_fanout_batch_seconds",
    "From the first message queued in a fan-out tick to the end of its flush to every client",
  );
  const entries = metrics.counter(
    "gateway_ws_stream_entries_total",
    "Stream entries read for fan-out, by stream",
  );
  const badEntries = metrics.counter(
    "gateway_ws_stream_decode_errors_total",
    "Stream entries that did not match their contract (skipped), by stream",
  );
  const gaps = metrics.counter(
    "gateway_ws_book_seq_gaps_total",
    "Book delta seq jumps seen on the book stream",
  );
  const lag = metrics.histogram(
    "gateway_ws_stream_lag_seconds",
    "Age of the newest entry of each stream read when the feed dispatches it (entry id time to now)",
  );

  const hub = new Hub({
    maxBufferedBytes,
    batchMs,
    loadFailed: (channel, error) => {
      log.warn("snapshot read failed", { channel, error });
      return msg.error(
        "UNAVAILABLE",
        `cannot read the snapshot of ${channel} now; subscribe again`,
        undefined,
        channel,
      );
    },
    metrics: {
      sent(route, n, f) {
        sent.inc({ route }, n);
        frames.inc({ route }, f);
      },
      dropped(route) {
        dropped.inc({ route });
      },
      fanout(seconds) {
        fanout.observe(seconds);
      },
    },
    onDrop: (c, reason) => log.info("client dropped", { client: c.id, route: c.route, reason }),
  });
  metrics.gauge("gateway_ws_clients", "Connected WebSocket clients, by route", (g) => {
    for (const route of ROUTES) g.set(hub.clientCount(route), { route });
  });
  metrics.gauge("gateway_ws_subscriptions", "Channel subscriptions, by channel type", (g) => {
    const counts = hub.subscriptionCounts();
    for (const kind of [...CHANNEL_KINDS, "legacy_trades", "legacy_ticks"]) {
      g.set(counts.get(kind) ?? 0, { channel: kind });
    }
  });

  const onRedisError = (e: Error) => log.warn("redis connection error", { error: e.message });
  const redis = await connectRedis(deps.redisUrl, { name: "gateway-ws", onError: onRedisError });
  // one blocking reader follows every stream (one XREAD for all of them)
  let reader: RedisClient;
  try {
    reader = await connectRedis(deps.redisUrl, { name: "gateway-ws-streams", onError: onRedisError });
  } catch (e) {
    await redis.close();
    throw e;
  }

  const loaders = createLoaders(redis, prefix, Date.now);
  const dispatch = createDispatcher(hub, (symbol, expected, got) => {
    gaps.inc();
    log.warn("book seq gap on the stream", { symbol, expected, got });
  });

  /** Feeds the seqs of the deltas of a book entry (one, or a packed batch) to the gap check. */
  function noteBookSeqs(entry: RawEntry): void {
    for (const m of expandEntries([entry])) {
      try {
        const json = JSON.parse(m.message.payload ?? "");
        if (typeof json?.symbol === "string" && typeof json.seq === "number") {
          dispatch.bookSeq(json.symbol, json.seq);
        }
      } catch { /* not a delta: the check of its symbol starts with the next one */ }
    }
  }

  function skip(stream: StreamDef, entry: RawEntry, reason: string): void {
    badEntries.inc({ stream: stream.name });
    log.warn("skipped a stream entry", { stream: stream.name, id: entry.id, reason });
  }

  // Entries are parsed only as far as needed: a stream nobody listens to any more is not parsed at
  // all (book deltas excepted: their seq is followed for the gap metric while the stream is read),
  // and the contract's schema runs only for entries some client will get. The streams are the
  // engine's and the aggregator's own output.
  function dispatchBatch(index: number, batch: RawEntry[]): void {
    const [handler, stream] = FOLLOWED[index];
    entries.inc({ stream: stream.name }, batch.length);
    lag.observe(Math.max(0, Date.now() - streamIdMs(batch[batch.length - 1].id)) / 1000);
    const route = STREAM_CHANNELS[handler];
    const isBook = handler === "bookDelta";
    const counts = hub.subscriptionCounts();
    if (!isBook && !route.kinds.some((k) => (counts.get(k) ?? 0) > 0)) return;
    for (const entry of batch) {
      const payload = entry.message.payload;
      if (payload === undefined) {
        skip(stream, entry, "entry has no payload field");
        continue;
      }
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(payload);
      } catch (e) {
        skip(stream, entry, `payload is not JSON: ${(e as Error).message}`);
        continue;
      }
      if (typeof json !== "object" || json === null) {
        skip(stream, entry, "payload is not an object");
        continue;
      }
      if (isBook && typeof json.symbol === "string" && typeof json.seq === "number") {
        dispatch.bookSeq(json.symbol, json.seq);
      }
      if (!route.names(json).some((name) => hub.wants(name))) continue;
      const r = stream.schema.safeParse(json);
      if (!r.success) {
        const why = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
        skip(stream, entry, `payload does not match the ${stream.name} contract: ${why}`);
        continue;
      }
      (dispatch[handler] as (value: unknown) => void)(r.data);
    }
  }

  const keys = FOLLOWED.map(([, stream]) => streamKey(prefix, stream));
  const cursors = FOLLOWED.map(() => "0-0");
  const following = FOLLOWED.map(() => ({
    active: false,
    neededAt: 0,
    starting: undefined as Promise<void> | undefined,
  }));

  /** Whether the next read includes stream `index`; a stream nobody listened to for long is let go. */
  function isActive(index: number): boolean {
    const d = following[index];
    const counts = hub.subscriptionCounts();
    const now = Date.now();
    if (STREAM_CHANNELS[FOLLOWED[index][0]].kinds.some((k) => (counts.get(k) ?? 0) > 0)) d.neededAt = now;
    else if (d.active && now - d.neededAt > idleStreamMs) d.active = false;
    return d.active;
  }

  /**
   * Makes sure the streams a channel kind reads are followed. A stream not read yet starts at its
   * newest entry, fixed before this resolves: whatever happens after a subscription is acknowledged
   * (or a legacy socket is open) reaches the client. Rejects when Redis cannot say where it ends.
   */
  async function prepare(kind: string): Promise<void> {
    await Promise.all(FOLLOWED.map(async ([handler], i) => {
      if (!STREAM_CHANNELS[handler].kinds.includes(kind)) return;
      const d = following[i];
      d.neededAt = Date.now();
      if (d.active) return;
      d.starting ??= (async () => {
        const last = await redis.xRevRange(keys[i], "+", "-", { COUNT: 1 });
        cursors[i] = last?.[0]?.id ?? "0-0";
        // the gap check starts again from the newest deltas: seqs seen before the stream was let go
        // are stale, and a jump right after the newest delta counts
        if (handler === "bookDelta") {
          dispatch.forgetBookSeqs();
          if (last?.[0]) noteBookSeqs(last[0] as RawEntry);
        }
        d.active = true;
      })().finally(() => d.starting = undefined);
      await d.starting;
    }));
  }

  // The listed symbols (the engine's markets hash), read again when a symbol is not among them, at
  // most once a second: a market the admin adds is found within a second.
  let listed: { at: number; symbols: Set<string> } | undefined;
  async function unlisted(symbol: string): Promise<string | undefined> {
    if (!listed?.symbols.has(symbol) && (!listed || Date.now() - listed.at > 1000)) {
      listed = { at: Date.now(), symbols: new Set(await redis.hKeys(keysOf.markets(prefix))) };
    }
    // before the engine wrote its markets there is nothing to judge by
    if (listed.symbols.size === 0 || listed.symbols.has(symbol)) return undefined;
    // the words REST uses for the same mistake
    return unknownSymbol(symbol, [...listed.symbols].sort().map((s) => ({ symbol: s }))).message;
  }

  const loop = (async () => {
    // a Redis outage fails a read every 500 ms: say so once, then once per minute
    let failing = 0;
    let lastWarn = 0;
    const onError = (e: unknown) => {
      failing++;
      if (Date.now() - lastWarn < 60_000) return;
      lastWarn = Date.now();
      log.warn("stream read failed; retrying", { failures: failing, error: String(e) });
    };
    try {
      for await (
        const reads of followStreams(reader, keys, {
          signal: stop.signal,
          fromIds: cursors,
          cursors,
          isActive,
          count: 1000,
          blockMs: READ_BLOCK_MS,
          onError,
        })
      ) {
        if (failing) {
          log.info("stream read recovered", { failures: failing });
          failing = 0;
          lastWarn = 0;
        }
        for (const { index, entries } of reads) dispatchBatch(index, entries);
      }
    } catch (e) {
      if (!stop.signal.aborted) log.error("stream reader stopped", { error: e });
    }
  })();

  const heartbeat = setInterval(() => hub.heartbeat(msg.heartbeat(Date.now())), heartbeatMs);

  const lastTicker = new Map<string, string>();
  let polling: Promise<void> | undefined;
  const tickerTimer = setInterval(() => {
    if (polling) return;
    const symbols = hub.channelNames("ticker").map((name) => name.slice("ticker.".length));
    for (const name of lastTicker.keys()) if (!hub.wants(name)) lastTicker.delete(name);
    if (symbols.length === 0) return;
    polling = readTickers(redis, prefix, symbols).then((found) => {
      for (const [symbol, { ticker, text }] of found) {
        const name = `ticker.${symbol}`;
        if (lastTicker.get(name) === text) continue;
        lastTicker.set(name, text);
        hub.deliver(name, tickerMessage(name, ticker), ticker.ts);
      }
    }).catch((e) => log.warn("ticker read failed", { error: String(e) })).finally(() => polling = undefined);
  }, TICKER_POLL_MS);

  const handleMessage = createSession({
    hub,
    loaders,
    prepare,
    unlisted,
    authenticate: deps.authenticate,
    now: Date.now,
    onError: (e) => log.error("client operation failed", { error: e }),
  });
  const recheckTimer = setInterval(() => {
    for (const c of hub.connections()) handleMessage.recheckPrivate(c);
  }, deps.options?.privateRecheckMs ?? PRIVATE_RECHECK_MS);
  const routes = createRoutes({
    hub,
    loaders,
    prepare,
    unlisted,
    handleMessage,
    authenticate: deps.authenticate,
    heartbeatMs,
    addressOf: deps.options?.addressOf,
    maxPerAddress: deps.options?.maxPerAddress ?? DEFAULT_MAX_PER_ADDRESS,
    onError: (e) => log.error("authentication failed", { error: e }),
  });

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      deps.signal.removeEventListener("abort", onAbort);
      stop.abort();
      clearInterval(heartbeat);
      clearInterval(tickerTimer);
      clearInterval(recheckTimer);
      hub.close();
      // unblocks the reader's pending XREAD at once instead of waiting for BLOCK to time out
      reader.destroy();
      await loop;
      await polling;
      await hub.drained(DRAIN_MS);
      await redis.close();
      log.info("market feed closed");
    })();
    return closing;
  }
  const onAbort = () => void close();
  if (deps.signal.aborted) queueMicrotask(onAbort);
  else deps.signal.addEventListener("abort", onAbort, { once: true });

  log.info("market feed started", { streams: FOLLOWED.length, heartbeatMs, maxBufferedBytes, batchMs });
  return { routes, close, clientCount: () => hub.clientCount() };
}
