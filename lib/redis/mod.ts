/**
 * Redis Streams helpers over node-redis (RESP2 for typed stream replies).
 *
 * Every entry has two fields: `type` (for humans tailing the stream) and `payload` (JSON of the
 * message encoded by the stream's zod schema). Consumers decode through the same schema; an entry
 * that does not decode is copied to `<stream>:dead` with the reason, and acknowledged.
 *
 * A writer that produces many messages at once (the matching engine, once per committed batch) may
 * pack them into one entry of type {@linkcode BATCH_TYPE}: its payload holds one message a line,
 * `<type> <json>`. One XADD then carries a whole batch, which is what lets Redis keep up with the
 * engine. The readers here ({@linkcode followStream}, {@linkcode consumeGroup},
 * {@linkcode readRange}, {@linkcode expandEntries}) unpack such entries, so consumers see one entry
 * per message either way; the messages of one packed entry share its id.
 * @module
 */
import { createClient } from "redis";
import type { z } from "zod";
import { sleep } from "@lib/lifecycle";
import { type StreamDef, streamKey } from "@lib/contracts";
import { BATCH_TYPE, batchLine, EntryCount, expandEntries } from "./packed.ts";

export {
  BATCH_TYPE,
  batchLine,
  EntryCount,
  expandEntries,
  messageId,
  streamMessagesAdded,
} from "./packed.ts";

function makeClient(url: string, name: string | undefined, reconnect: boolean, failFast = false) {
  return createClient({
    url,
    RESP: 2,
    name,
    // without the offline queue a command sent while the connection is down fails at once
    // (ClientOfflineError) instead of waiting for the reconnect
    ...(failFast ? { disableOfflineQueue: true } : {}),
    socket: {
      connectTimeout: 5000,
      reconnectStrategy: reconnect ? (retries: number) => Math.min(100 * 2 ** retries, 2000) : false,
    },
  });
}

/** A node-redis client speaking RESP2. */
export type RedisClient = ReturnType<typeof makeClient>;

/**
 * Opens a connection (RESP2). Errors are reported to `onError` instead of crashing the process.
 * `failFast`: commands sent while the connection is down fail at once instead of waiting for the
 * reconnect (for request handlers, which should answer 503 rather than hang).
 */
export async function connectRedis(
  url: string,
  options: {
    name?: string;
    onError?: (e: Error) => void;
    reconnect?: boolean;
    failFast?: boolean;
    /** Called once, with the first error, when the first connection attempt fails (it retries). */
    onWaiting?: (e: Error) => void;
    /** Gives up the (re)tries of the first connection: a stop while starting must not hang on it. */
    signal?: AbortSignal;
    /**
     * Gives up when the first connection, handshake included, is not ready within this many ms (a
     * server that accepts the connection but never answers would otherwise hold it for good).
     */
    timeoutMs?: number;
  } = {},
): Promise<RedisClient> {
  const client = makeClient(url, options.name, options.reconnect !== false, options.failFast);
  let connected = false;
  let waiting = false;
  // node-redis emits "error" on every failed reconnect; an unhandled one would end the process
  (client as unknown as { on(e: "error", f: (e: Error) => void): void }).on("error", (e) => {
    if (!connected && !waiting) {
      waiting = true;
      options.onWaiting?.(e);
    }
    options.onError?.(e);
  });
  const signal = options.signal;
  if (signal?.aborted) throw new Error("stopped before connecting to Redis");
  let onAbort = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error("stopped while connecting to Redis"));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
    }
  });
  aborted.catch(() => {});
  try {
    await Promise.race([client.connect(), aborted]);
  } catch (e) {
    client.destroy();
    throw e;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
  connected = true;
  return client;
}

/** A stream entry as read from Redis. */
export interface RawEntry {
  id: string;
  message: Record<string, string>;
  /** Position of the message inside a packed entry (see {@linkcode expandEntries}); unset otherwise. */
  index?: number;
}

/** Encodes a message for a stream: validates it and returns the entry's fields. */
export function encodeEntry<S extends z.ZodType>(
  stream: StreamDef<S>,
  message: z.input<S>,
): Record<string, string> {
  const parsed = stream.schema.parse(message) as z.output<S>;
  return { type: stream.entryType(parsed), payload: JSON.stringify(parsed) };
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Decodes an entry through the stream's schema. */
export function decodeEntry<S extends z.ZodType>(
  stream: StreamDef<S>,
  entry: RawEntry,
): DecodeResult<z.output<S>> {
  const payload = entry.message.payload;
  if (payload === undefined) return { ok: false, reason: "entry has no payload field" };
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (e) {
    return { ok: false, reason: `payload is not JSON: ${(e as Error).message}` };
  }
  const r = stream.schema.safeParse(json);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    return { ok: false, reason: `payload does not match the ${stream.name} contract: ${why}` };
  }
  return { ok: true, value: r.data as z.output<S> };
}

export interface PublishOptions {
  /** Approximate cap on the stream length (XADD MAXLEN ~). Unset: no trimming. */
  maxLen?: number;
}

/** XADDs a batch of messages to one stream in one round trip. Returns the new entry ids. */
export async function publishBatch<S extends z.ZodType>(
  redis: RedisClient,
  prefix: string,
  stream: StreamDef<S>,
  messages: z.input<S>[],
  options: PublishOptions = {},
): Promise<string[]> {
  if (messages.length === 0) return [];
  const key = streamKey(prefix, stream);
  const multi = redis.multi();
  const trim = options.maxLen
    ? { TRIM: { strategy: "MAXLEN" as const, strategyModifier: "~" as const, threshold: options.maxLen } }
    : undefined;
  for (const m of messages) multi.xAdd(key, "*", encodeEntry(stream, m), trim);
  return (await multi.execAsPipeline()) as unknown as string[];
}

/**
 * XADDs messages packed `perEntry` to an entry (type {@linkcode BATCH_TYPE}), as the matching engine
 * writes its outputs; `perEntry` 1 writes plain entries. For benchmarks and tests of consumers.
 */
export async function publishPacked<S extends z.ZodType>(
  redis: RedisClient,
  prefix: string,
  stream: StreamDef<S>,
  messages: z.input<S>[],
  perEntry: number,
): Promise<void> {
  if (perEntry <= 1) {
    for (let i = 0; i < messages.length; i += 5000) {
      await publishBatch(redis, prefix, stream, messages.slice(i, i + 5000));
    }
    return;
  }
  const key = streamKey(prefix, stream);
  for (let i = 0; i < messages.length; i += perEntry) {
    const lines = messages.slice(i, i + perEntry).map((m) => {
      const e = encodeEntry(stream, m);
      return batchLine(e.type, e.payload);
    });
    await redis.xAdd(key, "*", { type: BATCH_TYPE, payload: lines.join("\n") });
  }
}

/** XADDs one message. */
export async function publish<S extends z.ZodType>(
  redis: RedisClient,
  prefix: string,
  stream: StreamDef<S>,
  message: z.input<S>,
  options: PublishOptions = {},
): Promise<string> {
  return (await publishBatch(redis, prefix, stream, [message], options))[0];
}

/** Copies an undecodable or poisoned entry to `<stream>:dead` with the reason. */
export async function deadLetter(
  redis: RedisClient,
  key: string,
  entry: RawEntry,
  reason: string,
  source: string,
): Promise<void> {
  await redis.xAdd(`${key}:dead`, "*", {
    reason,
    source,
    originalId: entry.id,
    original: JSON.stringify(entry.message),
  });
}

export interface ConsumeOptions<T> {
  group: string;
  consumer: string;
  /** Stops the loop; noticed within `blockMs`. */
  signal: AbortSignal;
  /**
   * Handles one decoded batch. Entries are acknowledged only after it resolves, so a handler that
   * commits its own store first gives at-least-once delivery; handlers must be idempotent.
   */
  handle: (batch: { id: string; value: T }[]) => Promise<void>;
  /** Where the group starts when it is created: "0" (whole stream, the default) or "$". */
  startId?: string;
  blockMs?: number;
  /** Messages per batch, about (packed entries are read a few at a time to match). @default {500} */
  count?: number;
  /**
   * After a batch smaller than `count`, wait this long before reading again, so that the next
   * batch is larger (fewer writes for the same messages); it bounds the extra delay. @default {0}
   */
  lingerMs?: number;
  /** Called after a failed handler; the loop waits `retryMs` and retries the same entries. */
  onError?: (e: unknown) => void;
  onDead?: (entry: RawEntry, reason: string) => void;
  /**
   * Called when a read of new entries came back short (the stream was drained), after its entries
   * were handled, with the time up to which every entry then in the stream is handled: when the
   * read was sent, or when an empty blocking read returned.
   */
  onDrained?: (at: number) => Promise<void> | void;
  /** Called with the number of entries taken over from consumers that left them (see claimStale). */
  onClaimed?: (entries: number) => void;
  /** An entry this consumer held was deleted from the stream before it was handled. */
  onLost?: (id: string) => void;
  /** @default {CLAIM_IDLE_MS} */
  claimIdleMs?: number;
  retryMs?: number;
}

/**
 * Consumer-group loop: reads this consumer's pending entries first (resume after a crash), then new
 * ones; dead-letters entries that do not decode; acknowledges after `handle` resolves.
 * Resolves when `signal` aborts. `redis` must be a connection of its own (it blocks).
 */
export async function consumeGroup<S extends z.ZodType>(
  redis: RedisClient,
  prefix: string,
  stream: StreamDef<S>,
  options: ConsumeOptions<z.output<S>>,
): Promise<void> {
  const key = streamKey(prefix, stream);
  const { group, consumer, signal } = options;
  const count = new EntryCount(options.count ?? 500);
  const blockMs = options.blockMs ?? 1000;
  await ensureGroup(redis, key, group, options.startId ?? "0");
  let cursor = "0"; // own pending entries first
  const claim = staleClaimer(redis, key, group, consumer, options.claimIdleMs);
  while (!signal.aborted) {
    // entries a gone consumer left unacknowledged become this one's, read with its own pending ones
    if (cursor === ">") {
      const n = await claim().catch((e) => (options.onError?.(e), 0));
      if (n > 0) {
        options.onClaimed?.(n);
        cursor = "0";
      }
    }
    let entries: RawEntry[];
    const asked = count.count;
    const sentAt = Date.now();
    try {
      if (cursor === ">") {
        const res = await redis.xReadGroup(group, consumer, { key, id: cursor }, {
          COUNT: asked,
          BLOCK: blockMs,
        });
        entries = (res?.[0]?.messages ?? []) as RawEntry[];
      } else entries = await readOwnPending(redis, key, group, consumer, cursor, asked);
    } catch (e) {
      if (signal.aborted) break;
      if (String(e).includes("NOGROUP")) {
        await ensureGroup(redis, key, group, options.startId ?? "0").catch(() => {});
      }
      options.onError?.(e);
      await sleep(options.retryMs ?? 500, signal);
      continue;
    }
    if (entries.length === 0) {
      if (cursor !== ">") cursor = ">";
      else await drained(Date.now());
      continue;
    }
    const good: { id: string; value: z.output<S> }[] = [];
    const dead: string[] = [];
    const messages = expandEntries(entries);
    count.observe(entries.length, messages.length);
    for (const entry of messages) {
      if (!entry.message) { // deleted while pending: acknowledged, and said
        dead.push(entry.id);
        options.onLost?.(entry.id);
        continue;
      }
      const d = decodeEntry(stream, entry);
      if (d.ok) good.push({ id: entry.id, value: d.value });
      else {
        await deadLetter(redis, key, entry, d.reason, `${group}/${consumer}`);
        options.onDead?.(entry, d.reason);
        dead.push(entry.id);
      }
    }
    // retry the handler until it succeeds or we are stopped: never skip, never ack unhandled work
    while (good.length > 0) {
      try {
        await options.handle(good);
        break;
      } catch (e) {
        options.onError?.(e);
        if (signal.aborted) return;
        await sleep(options.retryMs ?? 500, signal);
        if (signal.aborted) return;
      }
    }
    // the messages of a packed entry share its id: acknowledge each entry once
    const ids = [...new Set([...good.map((g) => g.id), ...dead])];
    if (ids.length) await redis.xAck(key, group, ids);
    if (cursor !== ">") cursor = entries[entries.length - 1].id;
    else if (entries.length < asked) {
      await drained(sentAt);
      if (options.lingerMs) await sleep(options.lingerMs, signal);
    }
  }

  async function drained(at: number): Promise<void> {
    try {
      await options.onDrained?.(at);
    } catch (e) {
      options.onError?.(e);
    }
  }
}

/**
 * Takes over, for `consumer`, the entries of `group` that another consumer (or this one, earlier)
 * was given and has not acknowledged for `minIdleMs`: a consumer that is gone (crashed, renamed,
 * scaled away) would otherwise hold them forever, and no one would handle them. Returns how many
 * it took; the caller reads its own pending entries again ("0") to handle them.
 */
export async function claimStale(
  redis: RedisClient,
  key: string,
  group: string,
  consumer: string,
  minIdleMs: number,
): Promise<number> {
  let start = "0-0";
  let claimed = 0;
  for (let round = 0; round < 100; round++) {
    const r = await redis.xAutoClaimJustId(key, group, consumer, minIdleMs, start, { COUNT: 1000 });
    claimed += r.messages.length;
    if (r.nextId === "0-0") break;
    start = r.nextId;
  }
  return claimed;
}

/**
 * This consumer's pending entries after `from` (XREADGROUP with an id), read raw: an entry deleted
 * (trimmed) while pending comes back with no message, where node-redis' parser throws, and a
 * consumer that holds one would be stuck on it for good. The caller acknowledges such entries.
 */
export async function readOwnPending(
  redis: RedisClient,
  key: string,
  group: string,
  consumer: string,
  from: string,
  count: number,
): Promise<RawEntry[]> {
  const reply = await redis.sendCommand([
    "XREADGROUP",
    "GROUP",
    group,
    consumer,
    "COUNT",
    String(count),
    "STREAMS",
    key,
    from,
  ]) as [string, [string, string[] | null][]][] | null;
  return (reply?.[0]?.[1] ?? []).map(([id, fields]) => {
    if (!fields) return { id, message: null as unknown as Record<string, string> };
    const message: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) message[fields[i]] = fields[i + 1];
    return { id, message };
  });
}

/** How long an entry stays with a consumer that does not acknowledge it before another takes it. */
export const CLAIM_IDLE_MS = 60_000;
/** How often a consumer looks for such entries. */
export const CLAIM_EVERY_MS = 30_000;

/**
 * {@linkcode claimStale} at most every CLAIM_EVERY_MS (the first call looks at once): a consumer
 * loop calls it before a read of new entries and reads its own pending ones again when it took any.
 */
export function staleClaimer(
  redis: RedisClient,
  key: string,
  group: string,
  consumer: string,
  minIdleMs = CLAIM_IDLE_MS,
): () => Promise<number> {
  let lastAt = -Infinity;
  return async () => {
    if (performance.now() - lastAt < CLAIM_EVERY_MS) return 0;
    lastAt = performance.now();
    return await claimStale(redis, key, group, consumer, minIdleMs);
  };
}

/** Creates a consumer group (and the stream) if missing. */
export async function ensureGroup(
  redis: RedisClient,
  key: string,
  group: string,
  startId = "0",
): Promise<void> {
  try {
    await redis.xGroupCreate(key, group, startId, { MKSTREAM: true });
  } catch (e) {
    if (!String(e).includes("BUSYGROUP")) throw e;
  }
}

export interface FollowOptions {
  signal: AbortSignal;
  /** Exclusive start id; "$" for only new entries. */
  fromId: string;
  blockMs?: number;
  count?: number;
  onError?: (e: unknown) => void;
}

/**
 * Follows a stream with plain XREAD (no group) from an id, yielding raw batches in order.
 * For the engine's input and the gateway's fan-out. `redis` must be a connection of its own.
 */
export async function* followStream(
  redis: RedisClient,
  key: string,
  options: FollowOptions,
): AsyncGenerator<RawEntry[]> {
  let from = options.fromId;
  if (from === "$") {
    // resolve "$" once so that entries between reads are never missed
    const last = await redis.xRevRange(key, "+", "-", { COUNT: 1 });
    from = last?.[0]?.id ?? "0-0";
  }
  for await (const reads of followStreams(redis, [key], { ...options, fromIds: [from] })) {
    yield reads[0].entries;
  }
}

export interface FollowManyOptions {
  signal: AbortSignal;
  /** Exclusive start id of each stream, in the order of the keys (resolved ids, not "$"). */
  fromIds: string[];
  blockMs?: number;
  /** Entries per stream and read. */
  count?: number;
  onError?: (e: unknown) => void;
  /**
   * Asked before every read: streams it answers false for are left out of that read (not read at
   * all, their cursors kept). @default every stream
   */
  isActive?: (index: number) => boolean;
  /**
   * The cursors, read and moved in place: a caller may move a stream's cursor (say, to its newest
   * entry) while the stream is left out, so that it resumes from there. @default a copy of `fromIds`
   */
  cursors?: string[];
  /**
   * Yield only reads that hold every stream up to one moment: a stream that filled its `count` is
   * read again at once, until it has no more, before the read is yielded. A caller that needs what
   * one transaction wrote to several streams together (a reply and its events) sets this; without
   * it, a stream far behind can yield one side of a transaction a read before the other.
   */
  complete?: boolean;
}

/**
 * Follows several streams with one XREAD on one connection, yielding each read's entries per
 * stream (`index` into `keys`), packed entries unpacked. One blocking read instead of one per
 * stream: fewer connections, and one wake-up when several streams moved together (the engine
 * writes all its output streams in one transaction). `redis` must be a connection of its own.
 */
export async function* followStreams(
  redis: RedisClient,
  keys: readonly string[],
  options: FollowManyOptions,
): AsyncGenerator<{ index: number; entries: RawEntry[] }[]> {
  const cursors = options.cursors ?? [...options.fromIds];
  const indexOf = new Map(keys.map((k, i) => [k, i]));
  const isActive = options.isActive ?? (() => true);
  while (!options.signal.aborted) {
    const reading: { key: string; id: string }[] = [];
    for (let i = 0; i < keys.length; i++) if (isActive(i)) reading.push({ key: keys[i], id: cursors[i] });
    if (reading.length === 0) {
      // nothing to follow now: look again shortly
      await sleep(Math.min(options.blockMs ?? 1000, 20), options.signal);
      continue;
    }
    try {
      const count = options.count ?? 1000;
      let res = await redis.xRead(reading, { COUNT: count, BLOCK: options.blockMs ?? 1000 });
      const found = new Map<number, RawEntry[]>();
      while (res) {
        // streams that filled the count may hold more from before this read began
        const more: { key: string; id: string }[] = [];
        for (const r of res) {
          const entries = r.messages as RawEntry[];
          const index = indexOf.get(String(r.name));
          if (index === undefined || entries.length === 0) continue;
          cursors[index] = entries[entries.length - 1].id;
          const list = found.get(index);
          if (list) list.push(...expandEntries(entries));
          else found.set(index, expandEntries(entries));
          if (options.complete && entries.length >= count) {
            more.push({ key: keys[index], id: cursors[index] });
          }
        }
        if (more.length === 0) break;
        res = await redis.xRead(more, { COUNT: count });
      }
      if (found.size) yield [...found].map(([index, entries]) => ({ index, entries }));
    } catch (e) {
      if (options.signal.aborted) return;
      options.onError?.(e);
      await sleep(500, options.signal);
    }
  }
}

/** Compares two stream ids ("ms-seq"); negative when a < b. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
}

/** Milliseconds part of a stream id. */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf("-") >>> 0 || id.length));
}

/**
 * XRANGE as plain entries, packed entries unpacked (node-redis types the reply as possibly null; it
 * never is for a range). `count` counts stream entries, not messages.
 */
export async function readRange(
  redis: RedisClient,
  key: string,
  start = "-",
  end = "+",
  count?: number,
): Promise<RawEntry[]> {
  const res = await redis.xRange(key, start, end, count ? { COUNT: count } : undefined);
  return expandEntries(
    ((res ?? []) as (RawEntry | null)[]).filter((e): e is RawEntry => e !== null && e.message !== null),
  );
}

export { nodeRedisStreamReader, RespStreamReader, type StreamReader } from "./resp_reader.ts";
export {
  type BatchConnection,
  type ExecResult,
  RespBatchConnection,
  RespEncoder,
  TransactionError,
} from "./resp_batch.ts";
export { type GroupLag, groupLag, groupLagProbe } from "./group_lag.ts";
