/**
 * The aggregator's loops: executions -> trade candles, ticks -> index candles (each a consumer
 * group), the outbox -> PostgreSQL flusher, and the lag probe. `main.ts` builds the connections and
 * calls {@linkcode startCandleService}.
 * @module
 */
import { type Candle, type Execution, keys, streamKey, STREAMS, type Tick, Ticker } from "@lib/contracts";
import { candleKeys, pruneShortCandles, upsertCandles } from "@lib/candles";
import type { Sql } from "@lib/db";
import {
  compareStreamIds,
  consumeGroup,
  deadLetter,
  groupLagProbe,
  type RedisClient,
  streamIdMs,
} from "@lib/redis";
import { repeatUntilAborted, sleep } from "@lib/lifecycle";
import { errorText, type Logger } from "@lib/log";
import { BATCH_SIZE_BUCKETS, type Registry } from "@lib/metrics";
import { CandleAggregator, tradeEpoch } from "./aggregator.ts";
import {
  DAY_MS,
  loadRecent1m,
  loadState,
  persistChanges,
  type Retention,
  retentionFor,
  trimSeries,
} from "./candle_store.ts";
import type { CandleConfig } from "./config.ts";
import { TickerBook } from "./ticker.ts";

/** Consumer group of the aggregator on both input streams. */
export const CANDLE_GROUP = "candle-aggregator";

/** How far the candle watermark stays behind the moment a stream was drained (see `watermark`). */
export const WATERMARK_MARGIN_MS = 250;

export interface CandleServiceOptions {
  prefix: string;
  /** Consumer name inside the group. */
  consumer: string;
  /** Entries per XREADGROUP (and per MULTI). */
  batchSize: number;
  blockMs: number;
  /** See KALENCY_CANDLES_LINGER_MS. @default {0} */
  lingerMs?: number;
  /** Approximate cap of `stream:candles`. */
  streamMaxLen: number;
  retention: Retention;
  /** Also build index candles from `stream:ticks`. */
  indexCandles: boolean;
  /** Pause between outbox flushes when the outbox is empty. */
  flushIntervalMs: number;
  /** Candles per PostgreSQL write. */
  flushBatch: number;
  /** Days of 1s and 5s candles kept in PostgreSQL; 0 keeps them all. @default {0} */
  shortCandleDays?: number;
  lagIntervalMs: number;
  /** How often the 24h windows of quiet symbols move on to the present. @default {60000} */
  tickerRollMs?: number;
}

/** The service's options as the process's settings give them. */
export function serviceOptionsFrom(config: CandleConfig): CandleServiceOptions {
  return {
    prefix: config.KALENCY_PREFIX,
    consumer: config.KALENCY_CANDLES_CONSUMER,
    batchSize: config.KALENCY_CANDLES_BATCH,
    blockMs: config.KALENCY_CANDLES_BLOCK_MS,
    lingerMs: config.KALENCY_CANDLES_LINGER_MS,
    streamMaxLen: config.KALENCY_CANDLES_STREAM_MAXLEN,
    retention: retentionFor(config.KALENCY_CANDLES_REDIS_KEEP),
    indexCandles: config.KALENCY_CANDLES_INDEX,
    flushIntervalMs: config.KALENCY_CANDLES_FLUSH_MS,
    flushBatch: config.KALENCY_CANDLES_FLUSH_BATCH,
    shortCandleDays: config.KALENCY_CANDLES_SHORT_KEEP_DAYS,
    lagIntervalMs: 1000,
  };
}

export interface CandleServiceDeps {
  /** Connection for commands (MULTI, reads). */
  redis: RedisClient;
  /** Dedicated connections for the blocking group reads. */
  tradeReader: RedisClient;
  tickReader: RedisClient;
  /** PostgreSQL for history; without it nothing is queued for it and Redis is trimmed on a timer. */
  sql?: Sql;
  log: Logger;
  registry: Registry;
}

/** What /healthz reports. */
export interface CandleServiceStatus {
  lag: Record<string, { lag: number; pending: number }>;
  outbox: number;
  lastFlushError?: string;
  /** The last failed batch (cleared by the next one that succeeds). */
  lastError?: string;
}

/**
 * Starts every loop. `done` resolves when all have stopped after `signal` aborts; `refresh` measures
 * the lag now (it is also measured every `lagIntervalMs`).
 */
export function startCandleService(
  deps: CandleServiceDeps,
  options: CandleServiceOptions,
  signal: AbortSignal,
): { done: Promise<void>; status: () => CandleServiceStatus; refresh: () => Promise<void> } {
  const { redis, log, registry } = deps;
  const prefix = options.prefix;
  const status: CandleServiceStatus = { lag: {}, outbox: 0 };

  const batches = registry.counter("candles_batches_total", "Batches applied, by stream");
  const batchSize = registry.histogram("candles_batch_size", "Entries per applied batch", BATCH_SIZE_BUCKETS);
  const writeSeconds = registry.histogram(
    "candles_write_seconds",
    "Write latency: store=redis (one MULTI per batch), store=postgres (one outbox flush)",
  );
  const applied = registry.counter("candles_trades_applied_total", "Trades and ticks applied, by source");
  const duplicates = registry.counter(
    "candles_duplicates_total",
    "Redelivered entries ignored (already applied), by source",
  );
  const late = registry.gauge("candles_late_trades", "Trades stamped before their predecessor (since start)");
  const gaps = registry.gauge(
    "candles_seq_gaps",
    "Trades whose per-symbol seq skipped numbers (since start)",
  );
  const closedTotal = registry.counter("candles_closed_total", "Candles closed, by timeframe");
  const deadTotal = registry.counter(
    "dead_letters_total",
    "Entries sent to the dead-letter stream, by stream",
  );
  const retries = registry.counter("retries_total", "Failed writes that were retried, by target");
  const outboxGauge = registry.gauge("candles_outbox_length", "Closed candles waiting for PostgreSQL");

  const execKey = streamKey(prefix, STREAMS.executions);
  const tickKey = streamKey(prefix, STREAMS.ticks);
  // without PostgreSQL nothing is queued for it, and Redis is trimmed on a timer instead
  const history = deps.sql !== undefined;

  // ---- trade candles ----
  const trades = new CandleAggregator("trade");
  let tickers = new TickerBook();
  let tradesDirty = true;

  async function reloadTrades(): Promise<void> {
    const saved = await loadState(redis, prefix, "trade");
    trades.restore(saved.forming, saved.seqs);
    tickers = new TickerBook();
    for (const c of saved.forming) {
      if (c.timeframe !== "1m") continue;
      tickers.update(await loadRecent1m(redis, prefix, c.symbol, c.openTime - DAY_MS));
      tickers.update([c]);
      const stored = storedTicker(await redis.get(keys.ticker(prefix, c.symbol)));
      if (stored) tickers.noteLastTrade(c.symbol, stored.ts);
    }
    tradesDirty = false;
  }

  async function handleTrades(batch: { id: string; value: Execution }[]): Promise<void> {
    if (tradesDirty) await reloadTrades();
    const restartsBefore = trades.engineRestarts;
    try {
      const bad: { id: string; json: string; reason: string }[] = [];
      let n = 0;
      for (const { id, value: e } of batch) {
        try {
          if (
            trades.apply({
              symbol: e.symbol,
              seq: e.seq,
              epoch: tradeEpoch(e.tradeId),
              price: e.price,
              qty: e.qty,
              quoteQty: e.quoteQty,
              ts: e.ts,
            })
          ) n++;
        } catch (err) {
          bad.push({ id, json: JSON.stringify(e), reason: `cannot aggregate: ${errorText(err)}` });
        }
      }
      if (trades.engineRestarts > restartsBefore) {
        log.warn(
          "the matching engine started over (new trade ids, sequences from 1): counting its trades anew",
          {
            symbols: trades.engineRestarts - restartsBefore,
          },
        );
      }
      const changes = trades.takeChanges();
      tickers.update(changes.closed);
      tickers.update(changes.forming);
      const tks = changes.symbols.map((s) => tickers.ticker(s, changes.lastTs[s])).filter((t) =>
        t !== undefined
      );
      const done = writeSeconds.startTimer({ store: "redis" });
      await persistChanges(redis, prefix, changes, {
        streamMaxLen: options.streamMaxLen,
        tickers: tks,
        outbox: history,
      });
      done();
      for (const b of bad) {
        await deadLetter(redis, execKey, { id: b.id, message: { payload: b.json } }, b.reason, CANDLE_GROUP);
        deadTotal.inc({ stream: STREAMS.executions.name });
        log.warn("dead-lettered an execution", { id: b.id, reason: b.reason });
      }
      status.lastError = undefined;
      batches.inc({ stream: STREAMS.executions.name });
      batchSize.observe(batch.length, { stream: STREAMS.executions.name });
      applied.inc({ source: "trade" }, n);
      for (const c of changes.closed) closedTotal.inc({ timeframe: c.timeframe });
      duplicates.inc({ source: "trade" }, batch.length - n - bad.length);
      late.set(trades.late);
      gaps.set(trades.gaps);
    } catch (e) {
      // the in-memory state may be ahead of Redis now: rebuild it from Redis before the retry
      tradesDirty = true;
      throw e;
    }
  }

  // ---- index candles (simulator ticks) ----
  const index = new CandleAggregator("index");
  let tickCursor: string | undefined;
  let indexDirty = true;

  async function reloadIndex(): Promise<void> {
    const saved = await loadState(redis, prefix, "index");
    index.restore(saved.forming, {});
    tickCursor = saved.tickCursor;
    indexDirty = false;
  }

  async function handleTicks(batch: { id: string; value: Tick }[]): Promise<void> {
    if (indexDirty) await reloadIndex();
    try {
      const bad: { id: string; json: string; reason: string }[] = [];
      let n = 0;
      let cursor = tickCursor;
      for (const { id, value: t } of batch) {
        if (cursor !== undefined && compareStreamIds(id, cursor) <= 0) continue;
        cursor = id;
        try {
          index.apply({ symbol: t.symbol, price: t.price, qty: t.volume, ts: t.ts });
          n++;
        } catch (err) {
          bad.push({ id, json: JSON.stringify(t), reason: `cannot aggregate: ${errorText(err)}` });
        }
      }
      const changes = index.takeChanges();
      const done = writeSeconds.startTimer({ store: "redis" });
      await persistChanges(redis, prefix, changes, {
        streamMaxLen: options.streamMaxLen,
        tickCursor: cursor,
        outbox: history,
      });
      done();
      tickCursor = cursor;
      for (const b of bad) {
        await deadLetter(redis, tickKey, { id: b.id, message: { payload: b.json } }, b.reason, CANDLE_GROUP);
        deadTotal.inc({ stream: STREAMS.ticks.name });
      }
      status.lastError = undefined;
      batches.inc({ stream: STREAMS.ticks.name });
      batchSize.observe(batch.length, { stream: STREAMS.ticks.name });
      applied.inc({ source: "index" }, n);
      for (const c of changes.closed) closedTotal.inc({ timeframe: c.timeframe });
      duplicates.inc({ source: "index" }, batch.length - n - bad.length);
    } catch (e) {
      indexDirty = true;
      throw e;
    }
  }

  const onError = (stream: string) => (e: unknown) => {
    status.lastError = `${stream}: ${errorText(e)}`;
    retries.inc({ target: "redis" });
    log.warn("batch failed; retrying", { stream, error: errorText(e) });
  };
  const onDead = (stream: string) => (entry: { id: string }, reason: string) => {
    deadTotal.inc({ stream });
    log.warn("dead-lettered an entry that does not decode", { stream, id: entry.id, reason });
  };

  // The watermark: every trade (tick) with an older ts is in the candles. Every entry in a stream
  // when the aggregator drained it is; a trade committed after that carries the ts of its command
  // (the engine stamps trades with the command's stream id), so a lagging engine can still publish
  // trades older than the drain. Those come from commands the engine had not applied: the first of
  // them, read before the drain, bounds their ts. WATERMARK_MARGIN_MS covers clock steps.
  const commandsKey = streamKey(prefix, STREAMS.orders);
  // The bound: no trade yet to be published is older than this. A command that arrives after the
  // look is no older than the look itself, hence the min with the time of the look.
  const unappliedFrom = async (): Promise<number> => {
    const lookedAt = Date.now();
    const checkpoint = await redis.get(keys.checkpoint(prefix));
    const next = await redis.xRange(commandsKey, checkpoint ? `(${checkpoint}` : "-", "+", { COUNT: 1 });
    return Math.min(lookedAt, next?.length ? streamIdMs(next[0].id) : Infinity);
  };
  let engineBound: number | undefined; // read before the latest drain's read was sent
  const watermark = (source: "trade" | "index") => async (at: number) => {
    try {
      let bound = Infinity;
      if (source === "trade") {
        const before = engineBound;
        engineBound = await unappliedFrom(); // for the next drain: read before its read is sent
        if (before === undefined) return;
        bound = before;
      }
      const mark = Math.min(at, bound) - WATERMARK_MARGIN_MS;
      await redis.hSet(candleKeys.watermark(prefix), source, String(mark));
    } catch (e) {
      // the watermark stays where it was: candles close a little later, nothing is wrong
      engineBound = undefined;
      log.debug("cannot move the candle watermark", { source, error: errorText(e) });
    }
  };

  const loops: Promise<void>[] = [];
  loops.push(consumeGroup(deps.tradeReader, prefix, STREAMS.executions, {
    group: CANDLE_GROUP,
    consumer: options.consumer,
    signal,
    count: options.batchSize,
    blockMs: options.blockMs,
    lingerMs: options.lingerMs,
    handle: handleTrades,
    onDrained: watermark("trade"),
    onClaimed: (entries) => log.warn("took over entries another consumer left unacknowledged", { entries }),
    onError: onError(STREAMS.executions.name),
    onDead: onDead(STREAMS.executions.name),
  }));
  if (options.indexCandles) {
    loops.push(consumeGroup(deps.tickReader, prefix, STREAMS.ticks, {
      group: CANDLE_GROUP,
      consumer: options.consumer,
      signal,
      count: options.batchSize,
      blockMs: options.blockMs,
      lingerMs: options.lingerMs,
      handle: handleTicks,
      onDrained: watermark("index"),
      onClaimed: (entries) => log.warn("took over entries another consumer left unacknowledged", { entries }),
      onError: onError(STREAMS.ticks.name),
      onDead: onDead(STREAMS.ticks.name),
    }));
  }

  // ---- outbox -> PostgreSQL ----
  async function flushOnce(sql: Sql): Promise<number> {
    const key = candleKeys.outbox(prefix);
    const items = await redis.lRange(key, 0, options.flushBatch - 1);
    if (items.length === 0) return 0;
    const candles: Candle[] = [];
    for (const item of items) {
      try {
        candles.push(JSON.parse(item) as Candle);
      } catch {
        log.warn("dropped an unreadable outbox item", { item: item.slice(0, 200) });
      }
    }
    const done = writeSeconds.startTimer({ store: "postgres" });
    await upsertCandles(sql, candles);
    done();
    // only this loop removes from the head; the aggregator appends at the tail
    const [, left] = await redis.multi().lTrim(key, items.length, -1).lLen(key).exec();
    status.outbox = Number(left);
    return Number(left);
  }

  if (deps.sql) {
    const sql = deps.sql;
    loops.push((async () => {
      let backoff = 100;
      let lastTrim = 0;
      let lastPrune = 0;
      while (!signal.aborted) {
        try {
          const left = await flushOnce(sql);
          status.lastFlushError = undefined;
          backoff = 100;
          if (left > 0) continue;
          // trim Redis only once PostgreSQL holds everything, so no candle is ever in neither
          if (Date.now() - lastTrim > 10_000) {
            await trimSeries(redis, prefix, options.retention);
            lastTrim = Date.now();
          }
          const days = options.shortCandleDays ?? 0;
          if (days > 0 && Date.now() - lastPrune > 3_600_000) {
            lastPrune = Date.now();
            const pruned = await pruneShortCandles(sql, days);
            if (pruned > 0) log.info("old short-timeframe candles deleted from PostgreSQL", { pruned, days });
          }
          await sleep(options.flushIntervalMs, signal);
        } catch (e) {
          status.lastFlushError = errorText(e);
          retries.inc({ target: "postgres" });
          log.warn("candle flush to PostgreSQL failed; retrying", {
            error: errorText(e),
            backoffMs: backoff,
          });
          await sleep(backoff, signal);
          backoff = Math.min(backoff * 2, 5_000);
        }
      }
    })());
  } else {
    loops.push((async () => {
      while (!signal.aborted) {
        await sleep(10_000, signal);
        if (signal.aborted) break;
        await trimSeries(redis, prefix, options.retention).catch((e) =>
          log.warn("trimming Redis candles failed", { error: errorText(e) })
        );
      }
    })());
  }

  // ---- 24h tickers of quiet symbols ----
  // A ticker is written with each batch of trades; a symbol that stops trading (a paused market)
  // would keep its old 24 hours for good. Every minute its window moves on, trades leave it.
  loops.push(repeatUntilAborted(options.tickerRollMs ?? 60_000, signal, async () => {
    if (tradesDirty) return;
    const rolled = tickers.roll(Date.now());
    if (rolled.length === 0) return;
    const multi = redis.multi();
    for (const t of rolled) multi.set(keys.ticker(prefix, t.symbol), JSON.stringify(t));
    await multi.exec().catch((e) => log.warn("moving the 24h tickers on failed", { error: errorText(e) }));
  }));

  // ---- lag probe ----
  const lagStreams: [string, string][] = [[STREAMS.executions.name, execKey]];
  if (options.indexCandles) lagStreams.push([STREAMS.ticks.name, tickKey]);
  const probeLag = groupLagProbe(redis, registry, CANDLE_GROUP, lagStreams, status.lag);
  async function probe(): Promise<void> {
    await probeLag();
    status.outbox = await redis.lLen(candleKeys.outbox(prefix));
    outboxGauge.set(status.outbox);
  }
  loops.push(repeatUntilAborted(
    options.lagIntervalMs,
    signal,
    () => probe().catch((e) => log.debug("lag probe failed", { error: errorText(e) })),
  ));

  return { done: Promise.all(loops).then(() => {}), status: () => status, refresh: probe };
}

/** A ticker as written to Redis, or undefined when there is none (or it does not parse). */
function storedTicker(text: string | null): Ticker | undefined {
  if (text === null) return undefined;
  try {
    const t = Ticker.safeParse(JSON.parse(text));
    return t.success ? t.data : undefined;
  } catch {
    return undefined;
  }
}
