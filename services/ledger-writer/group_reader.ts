/**
 * A consumer-group reader that overlaps reading with writing: while batches are being committed to
 * PostgreSQL (up to `concurrency` at once, each in its own transaction), the next one is read from
 * Redis and decoded. Every entry is acknowledged only after
 * the write that covers it has committed; a failed write is retried with exponential backoff until
 * it succeeds or the process stops (then its entries stay pending and come back on restart).
 *
 * Same entry format and dead-letter behaviour as `consumeGroup` in `@lib/redis`, plus a cheap
 * `wanted` filter on the raw entry so streams where most entries are irrelevant are not decoded.
 * @module
 */
import type { StreamDef } from "@lib/contracts";
import { streamKey } from "@lib/contracts";
import { sleep } from "@lib/lifecycle";
import {
  deadLetter,
  decodeEntry,
  ensureGroup,
  EntryCount,
  expandEntries,
  messageId,
  type RawEntry,
  readOwnPending,
  type RedisClient,
  staleClaimer,
} from "@lib/redis";
import type { z } from "zod";

export interface RetryPolicy {
  /** First delay after a failure. */
  initialMs: number;
  /** Longest delay between attempts. */
  maxMs: number;
}

export interface GroupReaderOptions<T> {
  /** Connection used only for the (blocking) group reads. */
  reader: RedisClient;
  /** Connection for acknowledgements and dead letters. */
  redis: RedisClient;
  prefix: string;
  group: string;
  consumer: string;
  count: number;
  blockMs: number;
  signal: AbortSignal;
  /** Entries for which this returns false are acknowledged with their batch but neither decoded nor written. */
  wanted?: (entry: RawEntry) => boolean;
  /**
   * Writes one batch (possibly empty when nothing in it was wanted) and the position `lastId` in one
   * transaction. Must be idempotent: after a crash the same entries can come again.
   */
  write: (batch: { id: string; value: T }[], lastId: string) => Promise<void>;
  /** Batches written at the same time (each in its own transaction). @default {1} */
  concurrency?: number;
  /**
   * After a batch smaller than `count`, wait this long before reading again, so that the next batch
   * brings more rows for the same per-statement cost. It bounds the extra delay of a row. @default {0}
   */
  lingerMs?: number;
  retry: RetryPolicy;
  /** A read (of the stream) or a write (to the store) failed; it is retried after `delayMs`. */
  onRetry?: (error: unknown, attempt: number, delayMs: number, what: "read" | "write") => void;
  /** A write, or a read, succeeded after failing `attempts` times. */
  onRecovered?: (attempts: number) => void;
  onDead?: (entry: RawEntry, reason: string) => void;
  /** A batch was committed and acknowledged. */
  onBatch?: (info: { entries: number; written: number; seconds: number }) => void;
  /** Entries taken over from a consumer that left them unacknowledged (see claimStale). */
  onClaimed?: (entries: number) => void;
  /** An entry this consumer held was deleted from the stream before it was written. */
  onLost?: (id: string) => void;
  /** @default {CLAIM_IDLE_MS} */
  claimIdleMs?: number;
}

/** How long acknowledgements of committed batches keep being retried after a stop was requested. */
const ACK_GRACE_MS = 10_000;

/** Delay before retry number `attempt` (1-based): initial, doubling, capped. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt - 1, 30));
}

/**
 * Runs `op` until it succeeds, waiting with exponential backoff between attempts. Returns false when
 * `signal` aborted before it succeeded.
 */
export async function retrying(
  op: () => Promise<void>,
  policy: RetryPolicy,
  signal: AbortSignal,
  hooks: {
    onRetry?: (e: unknown, attempt: number, delayMs: number, what: "read" | "write") => void;
    onRecovered?: (n: number) => void;
  } = {},
): Promise<boolean> {
  for (let attempt = 1;; attempt++) {
    try {
      await op();
      if (attempt > 1) hooks.onRecovered?.(attempt - 1);
      return true;
    } catch (e) {
      if (signal.aborted) return false;
      const delay = backoffMs(policy, attempt);
      hooks.onRetry?.(e, attempt, delay, "write");
      await sleep(delay, signal);
      if (signal.aborted) return false;
    }
  }
}

/** Consumes `stream` with the group until `signal` aborts; resolves after the last commit and ack. */
export async function runGroupReader<S extends z.ZodType>(
  stream: StreamDef<S>,
  options: GroupReaderOptions<z.output<S>>,
): Promise<void> {
  const { reader, redis, group, consumer, signal } = options;
  const key = streamKey(options.prefix, stream);
  const hooks = { onRetry: options.onRetry, onRecovered: options.onRecovered };
  if (!await retrying(() => ensureGroup(reader, key, group, "0"), options.retry, signal, hooks)) return;

  async function commit(entries: RawEntry[], good: { id: string; value: z.output<S> }[]) {
    const t0 = performance.now();
    const lastId = entries[entries.length - 1].id;
    if (!await retrying(() => options.write(good, lastId), options.retry, signal, hooks)) return;
    const seconds = (performance.now() - t0) / 1000;
    // committed: acknowledge even when a stop was requested meanwhile (for up to ACK_GRACE_MS more),
    // so the batch is not delivered again
    const ack = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const startGrace = () => timer = setTimeout(() => ack.abort(), ACK_GRACE_MS);
    if (signal.aborted) startGrace();
    else signal.addEventListener("abort", startGrace, { once: true });
    try {
      const ids = [...new Set(entries.map((e) => e.id))];
      await retrying(() => redis.xAck(key, group, ids).then(() => {}), options.retry, ack.signal, hooks);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", startGrace);
    }
    options.onBatch?.({ entries: entries.length, written: good.length, seconds });
  }

  const concurrency = Math.max(1, options.concurrency ?? 1);
  const inflight = new Set<Promise<void>>();
  const count = new EntryCount(options.count);
  let cursor = "0"; // this consumer's pending entries first: the work a crash left unacknowledged
  let readFailures = 0;
  const claim = staleClaimer(redis, key, group, consumer, options.claimIdleMs);
  while (!signal.aborted) {
    // Entries another consumer was given and left (it crashed, was renamed or scaled away) become
    // this one's, read with its own pending ones. Only with nothing in flight: its own batches
    // being written must not be read again.
    if (cursor === ">" && inflight.size === 0) {
      const n = await claim().catch((e) => (options.onRetry?.(e, 1, 0, "read"), 0));
      if (n > 0) {
        options.onClaimed?.(n);
        cursor = "0";
      }
    }
    let entries: RawEntry[];
    const asked = count.count;
    let full = false;
    try {
      let raw: RawEntry[];
      if (cursor === ">") {
        const res = await reader.xReadGroup(group, consumer, { key, id: cursor }, {
          COUNT: asked,
          BLOCK: options.blockMs,
        });
        raw = (res?.[0]?.messages ?? []) as RawEntry[];
      } else raw = await readOwnPending(reader, key, group, consumer, cursor, asked);
      // packed entries unpacked: the messages of one entry share its id
      entries = expandEntries(raw);
      full = raw.length >= asked;
      count.observe(raw.length, entries.length);
      if (readFailures > 0) {
        options.onRecovered?.(readFailures);
        readFailures = 0;
      }
    } catch (e) {
      if (signal.aborted) break;
      if (String(e).includes("NOGROUP")) await ensureGroup(reader, key, group, "0").catch(() => {});
      options.onRetry?.(e, ++readFailures, options.retry.initialMs, "read");
      await sleep(options.retry.initialMs, signal);
      continue;
    }
    if (entries.length === 0) {
      cursor = ">";
      continue;
    }
    if (cursor !== ">") cursor = entries[entries.length - 1].id;
    const good: { id: string; value: z.output<S> }[] = [];
    for (const entry of entries) {
      if (!entry.message) { // deleted while pending: acknowledge it with the batch, and say so
        options.onLost?.(entry.id);
        continue;
      }
      if (options.wanted && !options.wanted(entry)) continue;
      const d = decodeEntry(stream, entry);
      // messages of one packed entry share its id: postings and order events need them apart
      if (d.ok) good.push({ id: messageId(entry), value: d.value });
      else {
        const source = `${group}/${consumer}`;
        if (
          !await retrying(() => deadLetter(redis, key, entry, d.reason, source), options.retry, signal, hooks)
        ) {
          break;
        }
        options.onDead?.(entry, d.reason);
      }
    }
    while (inflight.size >= concurrency) await Promise.race(inflight);
    if (signal.aborted) break; // read but not written: still pending, delivered again on restart
    const p: Promise<void> = commit(entries, good).finally(() => inflight.delete(p));
    inflight.add(p);
    if (!full && cursor === ">" && options.lingerMs) await sleep(options.lingerMs, signal);
  }
  await Promise.all(inflight);
}
