/**
 * The ledger writer's loops: executions -> trade_ledger, wallet -> funding postings, order-events ->
 * orders and order_events (each a consumer group, batches committed with their offset), and the lag
 * probe. `main.ts` builds the connections and calls {@linkcode startLedgerWriter}.
 * @module
 */
import { streamKey, STREAMS } from "@lib/contracts";
import type { CopyWriter, Sql } from "@lib/db";
import { groupLagProbe, type RawEntry, type RedisClient } from "@lib/redis";
import { repeatUntilAborted } from "@lib/lifecycle";
import { errorText, type Logger } from "@lib/log";
import { BATCH_SIZE_BUCKETS, type Registry } from "@lib/metrics";
import { type RetryPolicy, runGroupReader } from "./group_reader.ts";
import { LedgerStore } from "./ledger_store.ts";

/** Consumer group of the ledger writer on each of its streams. */
export const LEDGER_GROUP = "ledger-writer";

export interface LedgerWriterOptions {
  prefix: string;
  consumer: string;
  /** Account that receives fees (the engine's KALENCY_FEE_ACCOUNT). */
  feeAccount: string;
  /** Entries per read and per transaction, per stream. */
  tradeBatch: number;
  eventBatch: number;
  /** Trade batches committed at the same time (PostgreSQL uses one core per connection). */
  tradeConcurrency: number;
  /** Order-event batches committed at the same time. */
  eventConcurrency: number;
  blockMs: number;
  /** See KALENCY_LEDGER_LINGER_MS. @default {0} */
  lingerMs?: number;
  retry: RetryPolicy;
  lagIntervalMs: number;
}

export interface LedgerWriterDeps {
  /** Connection for acknowledgements, dead letters and the lag probe. */
  redis: RedisClient;
  /** One dedicated connection per stream for the blocking group reads. */
  readers: { executions: RedisClient; wallet: RedisClient; orderEvents: RedisClient };
  sql: Sql;
  /** Trades and order events go in by COPY through it when given (the service always gives one). */
  copy?: CopyWriter;
  log: Logger;
  registry: Registry;
}

/** What /healthz reports. */
export interface LedgerWriterStatus {
  lag: Record<string, { lag: number; pending: number }>;
  /** Streams whose current write keeps failing, with the error and since when. */
  failing: Record<string, { error: string; since: number; attempts: number }>;
  trades: number;
}

/** Wallet events that carry money in from outside; all others are acknowledged without decoding. */
const FUNDING_TYPES = new Set(["OPEN_ACCOUNT", "DEPOSIT"]);

/** Starts every loop; `done` resolves when all have stopped after `signal` aborts. */
export function startLedgerWriter(
  deps: LedgerWriterDeps,
  options: LedgerWriterOptions,
  signal: AbortSignal,
): { done: Promise<void>; status: () => LedgerWriterStatus; refresh: () => Promise<void> } {
  const { redis, log, registry } = deps;
  const prefix = options.prefix;
  const status: LedgerWriterStatus = { lag: {}, failing: {}, trades: 0 };
  const store = new LedgerStore(deps.sql, {
    consumer: LEDGER_GROUP,
    feeAccount: options.feeAccount,
    copy: deps.copy,
  });

  const batches = registry.counter("ledger_batches_total", "Batches committed, by stream");
  const batchSize = registry.histogram(
    "ledger_batch_size",
    "Entries per committed batch, by stream",
    BATCH_SIZE_BUCKETS,
  );
  const writeSeconds = registry.histogram(
    "ledger_write_seconds",
    "PostgreSQL write latency of one batch (transaction incl. retries), by stream",
  );
  const rows = registry.counter("ledger_rows_total", "Rows inserted, by table");
  const copyRefused = registry.counter(
    "ledger_copy_refused_total",
    "Batches COPY refused because a row of theirs was stored already (then written by INSERT), by table",
  );
  const conflicts = registry.counter(
    "ledger_conflicting_trades_total",
    "Trade ids already in the ledger with different content (dead-lettered, not overwritten)",
  );
  const deadTotal = registry.counter(
    "dead_letters_total",
    "Entries sent to the dead-letter stream, by stream",
  );
  const retries = registry.counter("retries_total", "Failed reads or writes that were retried, by stream");
  const retryingGauge = registry.gauge(
    "ledger_retrying",
    "1 while the current write of a stream keeps failing",
  );

  function hooks(name: string) {
    return {
      onRetry: (e: unknown, attempt: number, delayMs: number, what: "read" | "write") => {
        retries.inc({ stream: name });
        retryingGauge.set(1, { stream: name });
        const f = status.failing[name];
        status.failing[name] = { error: errorText(e), since: f?.since ?? Date.now(), attempts: attempt };
        const level = attempt === 1 || attempt % 10 === 0 ? "warn" : "debug";
        log[level](`${what} failed; retrying`, { stream: name, attempt, delayMs, error: errorText(e) });
      },
      onRecovered: (attempts: number) => {
        retryingGauge.set(0, { stream: name });
        delete status.failing[name];
        log.info("working again", { stream: name, failedAttempts: attempts });
      },
      onDead: (entry: RawEntry, reason: string) => {
        deadTotal.inc({ stream: name });
        log.warn("dead-lettered an entry that does not decode", { stream: name, id: entry.id, reason });
      },
      onBatch: (info: { entries: number; written: number; seconds: number }) => {
        batches.inc({ stream: name });
        batchSize.observe(info.entries, { stream: name });
        writeSeconds.observe(info.seconds, { stream: name });
      },
      onLost: (id: string) => {
        log.error("an entry this writer held was trimmed from the stream before it was written", {
          stream: name,
          id,
        });
      },
      onClaimed: (entries: number) => {
        log.warn("took over entries another consumer of the group left unacknowledged", {
          stream: name,
          entries,
        });
      },
    };
  }

  const common = {
    redis,
    prefix,
    group: LEDGER_GROUP,
    consumer: options.consumer,
    blockMs: options.blockMs,
    lingerMs: options.lingerMs,
    signal,
    retry: options.retry,
  };
  let walletOffsetAt = 0;
  const execKey = streamKey(prefix, STREAMS.executions);
  const walletKey = streamKey(prefix, STREAMS.wallet);
  const orderKey = streamKey(prefix, STREAMS.orderEvents);

  const loops = (async () => {
    await Promise.all([
      runGroupReader(STREAMS.executions, {
        ...common,
        ...hooks(STREAMS.executions.name),
        reader: deps.readers.executions,
        count: options.tradeBatch,
        concurrency: options.tradeConcurrency,
        write: async (batch, lastId) => {
          const r = await store.writeTrades(execKey, batch, lastId);
          rows.inc({ table: "trade_ledger" }, r.inserted);
          if (r.via === "insert-after-copy") copyRefused.inc({ table: "trade_ledger" });
          status.trades += r.inserted;
          const dead = [
            ...r.rejected,
            ...r.conflicts.map((tradeId) => ({
              id: batch.find((b) => b.value.tradeId === tradeId)?.id ?? "",
              reason: `trade ${tradeId} is already in trade_ledger with different content; not overwritten`,
            })),
          ];
          for (const d of dead) {
            const entry = batch.find((b) => b.id === d.id);
            if (!entry) continue;
            log.error("an execution cannot be written to the ledger", { streamId: d.id, reason: d.reason });
            if (r.conflicts.length > 0) conflicts.inc();
            await redis.xAdd(`${execKey}:dead`, "*", {
              reason: d.reason,
              source: `${LEDGER_GROUP}/${options.consumer}`,
              originalId: entry.id,
              original: JSON.stringify({ type: "execution", payload: JSON.stringify(entry.value) }),
            }).catch((e) => log.warn("cannot write a dead letter", { error: errorText(e) }));
            deadTotal.inc({ stream: STREAMS.executions.name });
          }
        },
      }),
      runGroupReader(STREAMS.wallet, {
        ...common,
        ...hooks(STREAMS.wallet.name),
        reader: deps.readers.wallet,
        count: options.eventBatch,
        // the entry's `type` is the reason; an entry without one is decoded to be sure
        wanted: (entry) => entry.message.type === undefined || FUNDING_TYPES.has(entry.message.type),
        write: async (batch, lastId) => {
          // most wallet batches hold no funding at all: then there is nothing to commit, and the
          // offset row (kept for audits) is refreshed at most once a second
          if (batch.length === 0 && Date.now() - walletOffsetAt < 1000) return;
          rows.inc({ table: "balance_postings" }, await store.writeWalletEvents(walletKey, batch, lastId));
          walletOffsetAt = Date.now();
        },
      }),
      runGroupReader(STREAMS.orderEvents, {
        ...common,
        ...hooks(STREAMS.orderEvents.name),
        reader: deps.readers.orderEvents,
        count: options.eventBatch,
        concurrency: options.eventConcurrency,
        write: async (batch, lastId) => {
          const r = await store.writeOrderEvents(orderKey, batch, lastId);
          rows.inc({ table: "order_events" }, r.inserted);
          if (r.via === "insert-after-copy") copyRefused.inc({ table: "order_events" });
        },
      }),
    ]);
  })();

  const probe = groupLagProbe(redis, registry, LEDGER_GROUP, [
    [STREAMS.executions.name, execKey],
    [STREAMS.wallet.name, walletKey],
    [STREAMS.orderEvents.name, orderKey],
  ], status.lag);
  const prober = repeatUntilAborted(
    options.lagIntervalMs,
    signal,
    () => probe().catch((e) => log.debug("lag probe failed", { error: errorText(e) })),
  );

  return { done: Promise.all([loops, prober]).then(() => {}), status: () => status, refresh: probe };
}
