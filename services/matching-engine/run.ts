/**
 * The engine's loop: read a batch of commands (plain XREAD from the last applied id), apply each to
 * the in-memory engine, commit every output of the batch and the new checkpoint in one MULTI/EXEC,
 * and snapshot the state now and then. The next batch is read and applied while the previous one
 * commits; commits stay strictly in order.
 * @module
 */
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { repeatUntilAborted, sleep } from "@lib/lifecycle";
import type { Logger } from "@lib/log";
import { LATENCY_BUCKETS, type Registry } from "@lib/metrics";
import {
  type BatchConnection,
  compareStreamIds,
  type RawEntry,
  type RedisClient,
  streamIdMs,
  type StreamReader,
  TransactionError,
} from "@lib/redis";
import type { CommandOutput, EngineSettings, MatchingEngine, ReadModelChanges } from "./engine_api.ts";
import { deadWithReply, intake, SOURCE } from "./intake.ts";
import {
  BatchBuilder,
  CheckpointConflictError,
  commitBatch,
  type DeadCommand,
  type OutputOptions,
  type RedisCommand,
} from "./outputs.ts";
import { type EngineFactory, recoverEngine } from "./recovery.ts";
import { recordSettings } from "./settings_history.ts";
import { type ConsumerNeed, consumerNeed } from "./consumer_need.ts";
import { type SaveOptions, saveSnapshot, type SnapshotManifest } from "./snapshot_store.ts";

/** The metrics the loop keeps; `/metrics` renders them. */
export function createEngineMetrics(registry: Registry) {
  const snapshotTakenAt = registry.gauge(
    "engine_snapshot_taken_at_seconds",
    "Unix time of the last saved snapshot",
  );
  return {
    commands: registry.counter("engine_commands_total", "Commands applied, by type"),
    rejections: registry.counter("engine_rejections_total", "Commands answered with a rejection, by reason"),
    deadLetters: registry.counter("engine_dead_letters_total", "Command entries dead-lettered, by source"),
    executions: registry.counter("engine_executions_total", "Trades executed"),
    batchSize: registry.histogram(
      "engine_batch_size",
      "Command entries per batch",
      [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 20000],
    ),
    applySeconds: registry.histogram("engine_batch_apply_seconds", "Time to apply one batch in memory"),
    commitSeconds: registry.histogram("engine_batch_commit_seconds", "MULTI/EXEC latency of one batch"),
    lagEntries: registry.gauge(
      "engine_command_lag_entries",
      `Command entries not yet applied (counted up to ${LAG_CAP})`,
    ),
    lagMs: registry.gauge(
      "engine_command_lag_ms",
      "Id time of the newest command minus that of the last applied",
    ),
    snapshotTakenAt,
    snapshotAge: registry.gauge(
      "engine_snapshot_age_seconds",
      "Seconds since the last saved snapshot",
      (g) => {
        const at = snapshotTakenAt.get();
        if (at > 0) g.set(Math.max(0, Date.now() / 1000 - at));
      },
    ),
    snapshotSeconds: registry.histogram(
      "engine_snapshot_seconds",
      "Snapshot time by phase: serialize (blocks the loop), store (compress + write, off the loop)",
      [...LATENCY_BUCKETS, 30, 60],
    ),
    snapshotBytes: registry.gauge(
      "engine_snapshot_bytes",
      "Size of the last snapshot, by form (json, stored)",
    ),
    recoverySeconds: registry.gauge(
      "engine_recovery_seconds",
      "Time of the last start-up recovery, by phase",
    ),
    replayed: registry.gauge("engine_recovery_replayed_commands", "Commands re-applied at the last start-up"),
  };
}
export type EngineMetrics = ReturnType<typeof createEngineMetrics>;

/**
 * Snapshots are spaced at least this many times their serialization time, so a big state (seconds to
 * serialize) cannot stall the loop more than 1/20 of the time.
 */
const SNAPSHOT_DUTY = 20;

/** How often the consumer groups of the output streams are read (see refreshConsumerNeeds). */
const CONSUMER_POLL_MS = 1000;

/** The output streams that consumer groups read, trimmed only as far as those groups allow. */
const OUTPUT_STREAMS = [STREAMS.executions, STREAMS.orderEvents, STREAMS.wallet, STREAMS.book];

/** Entries counted at most when measuring the lag. */
export const LAG_CAP = 1000;

/** The most a stopping engine waits for commands sent as the system stops (see #lastCommands). */
const STOP_GRACE_MS = 2000;
/** ... and how long the command stream must stay quiet for it to stop sooner. */
const STOP_QUIET_MS = 200;
export interface RunOptions {
  prefix: string;
  /** Entries per read and per commit. */
  batchSize: number;
  /** BLOCK of each read; bounds how long a stop waits. */
  blockMs: number;
  snapshotIntervalMs: number;
  /** Also snapshot after this many commands (0: by time only). */
  snapshotEvery: number;
  snapshot: SaveOptions;
  outputs: Omit<OutputOptions, "prefix">;
  /** Trim commands older than this (and inside a snapshot) after each snapshot; 0 keeps them. */
  commandRetentionMs: number;
  /** Past this many command entries, trim what the latest snapshot covers; 0 disables. */
  commandMaxLen: number;
}

export interface EngineDeps {
  /** Opens the connection batches are committed on (MULTI/EXEC); called again after it fails. */
  connectBatches: () => Promise<BatchConnection>;
  /** Blocking XREAD of the command stream: a connection of its own. */
  reader: StreamReader;
  /** Snapshots, recovery, trimming and lag probes, so a large snapshot never delays a commit. */
  aux: RedisClient;
  factory: EngineFactory;
  settings: EngineSettings;
  log: Logger;
  metrics: EngineMetrics;
}

/** Runs one engine over one prefix. Build it with {@linkcode EngineRunner.start}. */
export class EngineRunner {
  readonly #deps: EngineDeps;
  readonly #o: RunOptions;
  readonly #builder: BatchBuilder;
  readonly #commandsKey: string;
  #engine: MatchingEngine;
  /** Last entry applied or skipped in memory (may be ahead of the committed checkpoint). */
  #cursor: string;
  /** The checkpoint in Redis as this process last wrote it. */
  #committed: string | null;
  #inflight: Promise<void> = Promise.resolve();
  #commitError: unknown;
  #snapshotting: Promise<void> | undefined;
  #lastSnapshotAt = performance.now();
  #lastSerializeMs = 0;
  #lastSnapshotCursor: string;
  #sinceSnapshot = 0;
  #lastLoopAt = Date.now();
  #manifest: SnapshotManifest | undefined;
  #batches: BatchConnection | undefined;

  private constructor(
    deps: EngineDeps,
    options: RunOptions,
    state: { engine: MatchingEngine; cursor: string; checkpoint: string | null; manifest?: SnapshotManifest },
  ) {
    this.#deps = deps;
    this.#o = options;
    this.#builder = new BatchBuilder({ prefix: options.prefix, ...options.outputs });
    this.#commandsKey = streamKey(options.prefix, STREAMS.orders);
    this.#engine = state.engine;
    this.#cursor = state.cursor;
    this.#committed = state.checkpoint;
    this.#manifest = state.manifest;
    this.#lastSnapshotCursor = state.manifest?.cursor ?? "0-0";
  }

  /** Recovers the state (snapshot + replay to the checkpoint) and returns a runner ready to `run`. */
  static async start(deps: EngineDeps, options: RunOptions): Promise<EngineRunner> {
    const t0 = performance.now();
    const r = await recoverEngine(deps.aux, options.prefix, deps.factory, deps.settings, { log: deps.log });
    // the commands after the recovered position are applied with this process's settings
    if (await recordSettings(deps.aux, options.prefix, r.cursor, deps.settings)) {
      deps.log.info("engine settings recorded", { from: r.cursor });
    }
    const m = deps.metrics;
    m.recoverySeconds.set(r.timings.loadMs / 1000, { phase: "load" });
    m.recoverySeconds.set(r.timings.restoreMs / 1000, { phase: "restore" });
    m.recoverySeconds.set(r.timings.replayMs / 1000, { phase: "replay" });
    m.replayed.set(r.replayed);
    if (r.manifest) m.snapshotTakenAt.set(r.manifest.takenAt / 1000);
    const runner = new EngineRunner(deps, options, {
      engine: r.engine,
      cursor: r.cursor,
      checkpoint: r.checkpoint,
      manifest: r.manifest,
    });
    if (r.fresh) await runner.#writeInitialReadModels(r.changes);
    deps.log.info("engine recovered", {
      fresh: r.fresh,
      snapshot: r.manifest?.cursor ?? null,
      checkpoint: r.checkpoint,
      replayed: r.replayed,
      loadMs: Math.round(r.timings.loadMs),
      restoreMs: Math.round(r.timings.restoreMs),
      replayMs: Math.round(r.timings.replayMs),
      totalMs: Math.round(performance.now() - t0),
    });
    return runner;
  }

  /** The live engine (tests compare its state). */
  get engine(): MatchingEngine {
    return this.#engine;
  }

  /** Last command-stream id applied (or skipped) in memory. */
  get cursor(): string {
    return this.#cursor;
  }

  /** Wall-clock ms of the loop's last turn; a turn happens at least every `blockMs` while healthy. */
  get lastLoopAt(): number {
    return this.#lastLoopAt;
  }

  get lastSnapshot(): SnapshotManifest | undefined {
    return this.#manifest;
  }

  /** Entries after the cursor (counted up to {@linkcode LAG_CAP}) and their id-time distance. */
  async measureLag(): Promise<{ entries: number; ms: number }> {
    const cursor = this.#cursor;
    const aux = this.#deps.aux;
    const newest = await aux.xRevRange(this.#commandsKey, "+", "-", { COUNT: 1 });
    const last = newest?.[0]?.id;
    let lag = { entries: 0, ms: 0 };
    if (last !== undefined && compareStreamIds(last, cursor) > 0) {
      const behind = await aux.xRange(this.#commandsKey, `(${cursor}`, "+", { COUNT: LAG_CAP });
      lag = { entries: behind?.length ?? 0, ms: Math.max(0, streamIdMs(last) - streamIdMs(cursor)) };
    }
    this.#deps.metrics.lagEntries.set(lag.entries);
    this.#deps.metrics.lagMs.set(lag.ms);
    return lag;
  }

  /**
   * Runs until `signal` aborts, then finishes the batch in hand, commits it, saves a final snapshot
   * and resolves. Rejects on an error the engine must not continue after (another writer, a
   * recovery that cannot be faithful).
   */
  async run(signal: AbortSignal): Promise<void> {
    // what the consumers need is known before the first batch trims anything, then kept fresh
    await this.refreshConsumerNeeds();
    const polling = new AbortController();
    const needs = repeatUntilAborted(
      CONSUMER_POLL_MS,
      AbortSignal.any([signal, polling.signal]),
      () => this.refreshConsumerNeeds(),
    );
    try {
      await this.#loop(signal);
    } finally {
      polling.abort(); // the loop may end on an error, with `signal` still live
      await needs;
      await this.#inflight;
      this.#batches?.close();
      this.#batches = undefined;
    }
  }

  /**
   * Reads what the consumer groups of each output stream still need, so that trimming keeps it (see
   * consumer_need.ts). A stream kept beyond its cap for a group is said in the log, once per change.
   */
  async refreshConsumerNeeds(): Promise<void> {
    const { aux, log } = this.#deps;
    for (const stream of OUTPUT_STREAMS) {
      const key = streamKey(this.#o.prefix, stream);
      let need: ConsumerNeed | undefined;
      try {
        need = await consumerNeed(aux, key);
      } catch (e) {
        // without the groups (an ACL forbidding XINFO, say) nothing protects them: say it, once
        if (!this.#unreadable.has(stream.name)) {
          this.#unreadable.add(stream.name);
          log.warn("cannot read the consumer groups; trimming by the cap alone", {
            stream: stream.name,
            error: String(e),
          });
        }
        continue;
      }
      if (this.#unreadable.delete(stream.name)) {
        log.info("reading the consumer groups again", { stream: stream.name });
      }
      this.#builder.setConsumerNeed(key, need);
      const holding = need === "all";
      if (holding !== (this.#holding.get(stream.name) ?? false)) {
        this.#holding.set(stream.name, holding);
        if (holding) {
          log.warn("not trimming: a consumer group holds entries it has not acknowledged for a while", {
            stream: stream.name,
          });
        } else log.info("trimming again: the consumer groups caught up", { stream: stream.name });
      }
    }
  }

  /** Streams not trimmed for now (a consumer group holds old entries), for the log. */
  readonly #holding = new Map<string, boolean>();
  /** Streams whose groups could not be read at the last poll, for the log. */
  readonly #unreadable = new Set<string>();

  /** Starts reading the commands after `from`. */
  #readAfter(from: string, blockMs = this.#o.blockMs): { from: string; read: Promise<RawEntry[]> } {
    const read = this.#deps.reader.read(this.#commandsKey, from, this.#o.batchSize, blockMs);
    // awaited where it is used; one left behind at a stop or a rebuild must not go unhandled
    read.catch(() => {});
    return { from, read };
  }

  async #loop(signal: AbortSignal): Promise<void> {
    const { log } = this.#deps;
    let readFailures = 0;
    // The next batch is read while this one is applied: Redis answers the read during the apply
    // instead of after this batch's commit, which it runs first (measured: the loop spent a quarter
    // of its time waiting for reads).
    let ahead: { from: string; read: Promise<RawEntry[]> } | undefined;
    while (!signal.aborted) {
      this.#lastLoopAt = Date.now();
      if (this.#commitError) break;
      let entries: RawEntry[];
      try {
        // a read from elsewhere is stale: the cursor stops short of a command whose apply threw
        if (ahead && ahead.from !== this.#cursor) {
          await ahead.read.catch(() => {}); // one read at a time on the connection
          ahead = undefined;
        }
        ahead ??= this.#readAfter(this.#cursor);
        entries = await ahead.read;
        ahead = undefined;
        readFailures = 0;
      } catch (e) {
        ahead = undefined;
        if (signal.aborted) break;
        if (readFailures++ % 20 === 0) log.warn("reading commands failed; retrying", { error: e });
        await sleep(Math.min(100 * 2 ** readFailures, 2000), signal);
        continue;
      }
      if (entries.length > 0) {
        ahead = this.#readAfter(entries[entries.length - 1].id);
        await this.#process(entries);
      }
      this.#maybeSnapshot();
      // a big snapshot serializes for seconds: that is work, not a stall
      this.#lastLoopAt = Date.now();
    }
    await this.#lastCommands(ahead);
    await this.#drain();
    await this.#snapshotting;
    if (this.#cursor !== this.#lastSnapshotCursor) await this.#takeSnapshot();
  }

  /**
   * After the stop signal: applies the commands that arrive within a short grace, until the stream
   * is quiet for {@linkcode STOP_QUIET_MS} (at most {@linkcode STOP_GRACE_MS} in all). A Ctrl-C in a
   * terminal signals every process of the system at once, and the last commands (the simulator
   * cancelling its bots' orders, a gateway's last requests) come a moment after it; without the
   * grace they waited in the stream for the next start.
   */
  async #lastCommands(ahead: { from: string; read: Promise<RawEntry[]> } | undefined): Promise<void> {
    const until = Date.now() + STOP_GRACE_MS;
    while (!this.#commitError && Date.now() < until) {
      let entries: RawEntry[];
      try {
        const pending = ahead;
        ahead = undefined;
        entries = pending ? await pending.read : [];
        if (pending && pending.from !== this.#cursor) entries = []; // stale: read again below
        if (entries.length === 0) {
          entries = await this.#readAfter(this.#cursor, STOP_QUIET_MS).read;
        }
      } catch {
        return; // Redis is going too: what is unread stays for the next start
      }
      if (entries.length === 0) return;
      await this.#process(entries);
    }
  }

  /** Waits for the commit in flight; rethrows its error. */
  async #drain(): Promise<void> {
    await this.#inflight;
    if (this.#commitError) throw this.#commitError;
  }

  async #process(entries: RawEntry[]): Promise<void> {
    const { metrics: m, log } = this.#deps;
    const prefix = this.#o.prefix;
    const t0 = performance.now();
    const outputs: CommandOutput[] = [];
    const dead: DeadCommand[] = [];
    const created = new Set<string>();
    let poisonAt = -1;
    const byType = new Map<string, number>();
    const byReason = new Map<string, number>();
    let executions = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const r = intake(prefix, entry);
      if (!r.ok) {
        dead.push(r.dead);
        m.deadLetters.inc({ source: r.dead.source });
        log.warn("command dead-lettered", { id: entry.id, reason: r.dead.reason });
        continue;
      }
      let out: CommandOutput;
      try {
        out = this.#engine.apply(r.command, r.meta);
      } catch (e) {
        log.error("applying a command threw; dead-lettering it and rebuilding the state without it", {
          id: entry.id,
          type: r.command.type,
          error: e,
        });
        const d = deadWithReply(
          prefix,
          entry,
          `apply threw: ${(e as Error)?.message ?? String(e)}`,
          SOURCE.apply,
        );
        dead.push({ ...d, poison: true });
        m.deadLetters.inc({ source: SOURCE.apply });
        poisonAt = i;
        break;
      }
      outputs.push(out);
      const reply = out.reply;
      if (r.command.type === "place" && reply.ok && reply.order && !reply.duplicate) {
        created.add(reply.order.orderId);
      }
      // counted per batch, not per command: a labelled counter costs a key and a lookup each time
      byType.set(r.command.type, (byType.get(r.command.type) ?? 0) + 1);
      if (!out.reply.ok) byReason.set(out.reply.reason, (byReason.get(out.reply.reason) ?? 0) + 1);
      executions += out.executions.length;
    }
    for (const [type, n] of byType) m.commands.inc({ type }, n);
    for (const [reason, n] of byReason) m.rejections.inc({ reason }, n);
    if (executions) m.executions.inc(undefined, executions);
    let changes: ReadModelChanges;
    let last = entries[entries.length - 1].id;
    if (poisonAt >= 0) {
      // The throw may have left the state half-changed. Rebuild it from the snapshot and the committed
      // commands plus this batch's commands before the poison one; its read-model changes are a
      // superset of what this batch touched, so writing them all leaves the read models exact.
      await this.#drain();
      const rebuilt = await recoverEngine(this.#deps.aux, prefix, this.#deps.factory, this.#deps.settings, {
        collectChanges: true,
        extra: entries.slice(0, poisonAt),
        log,
      });
      this.#engine = rebuilt.engine;
      changes = rebuilt.changes!;
      last = entries[poisonAt].id;
    } else {
      changes = this.#engine.takeChanges();
    }
    const commands = this.#builder.build({
      outputs,
      dead,
      changes,
      checkpoint: last,
      createdOrderIds: created,
    });
    m.applySeconds.observe((performance.now() - t0) / 1000);
    m.batchSize.observe(poisonAt >= 0 ? poisonAt + 1 : entries.length);
    await this.#drain();
    this.#cursor = last;
    this.#sinceSnapshot += outputs.length;
    this.#inflight = this.#commit(commands, last).catch((e) => {
      this.#commitError = e;
    });
  }

  async #commit(commands: RedisCommand[], checkpoint: string): Promise<void> {
    const { aux, log, metrics } = this.#deps;
    const t0 = performance.now();
    for (let attempt = 1;; attempt++) {
      try {
        this.#batches ??= await this.#deps.connectBatches();
        const errors = await commitBatch(this.#batches, commands, this.#committed);
        if (errors.length) {
          // EXEC ran (Redis does not roll back): the batch is committed, but some write was refused
          log.error("some writes of a committed batch failed", {
            checkpoint,
            failed: errors.length,
            first: errors.slice(0, 5).map((e) => `${commands[e.index]?.[0]}: ${e.message}`),
          });
        }
        break;
      } catch (e) {
        // a refused transaction or another writer: sending it again cannot help
        if (e instanceof CheckpointConflictError || e instanceof TransactionError) throw e;
        this.#batches?.close();
        this.#batches = undefined;
        if (attempt % 10 === 1) {
          log.warn("committing a batch failed; retrying", { checkpoint, attempt, error: e });
        }
        await sleep(Math.min(50 * 2 ** attempt, 2000));
        // the connection may have dropped after EXEC reached Redis: look before sending it again
        const found = await aux.get(keys.checkpoint(this.#o.prefix)).catch(() => undefined);
        if (found === checkpoint) break;
        if (found !== undefined && found !== this.#committed) {
          throw new CheckpointConflictError(this.#committed, found);
        }
      }
    }
    this.#committed = checkpoint;
    metrics.commitSeconds.observe((performance.now() - t0) / 1000);
  }

  async #writeInitialReadModels(changes: ReadModelChanges | undefined): Promise<void> {
    const markets = [...(changes?.markets ?? [])];
    for (const spec of this.#deps.settings.markets) {
      if (!markets.some((m) => m.symbol === spec.symbol)) markets.push(spec);
    }
    const initial: ReadModelChanges = {
      orders: changes?.orders ?? [],
      closedOrderIds: changes?.closedOrderIds ?? [],
      wallets: changes?.wallets ?? [],
      books: changes?.books ?? [],
      markets,
    };
    const multi = this.#deps.aux.multi();
    for (const c of this.#builder.readModels(initial)) multi.addCommand(c);
    await multi.exec();
  }

  #maybeSnapshot(): void {
    if (this.#snapshotting || this.#cursor === this.#lastSnapshotCursor) return;
    const since = performance.now() - this.#lastSnapshotAt;
    // serializing blocks the loop: whatever the settings, spend at most 1/SNAPSHOT_DUTY of the time on it
    if (since < this.#lastSerializeMs * SNAPSHOT_DUTY) return;
    const due = since >= this.#o.snapshotIntervalMs ||
      (this.#o.snapshotEvery > 0 && this.#sinceSnapshot >= this.#o.snapshotEvery);
    if (!due) return;
    this.#snapshotting = this.#takeSnapshot()
      .catch((e) => this.#deps.log.error("saving a snapshot failed", { error: e }))
      .finally(() => this.#snapshotting = undefined);
  }

  /**
   * Serializes the state now (between batches, so it is consistent) and saves it once the batch that
   * produced it is committed: a saved snapshot never runs ahead of the checkpoint.
   */
  async #takeSnapshot(): Promise<void> {
    const { metrics: m, log } = this.#deps;
    const t0 = performance.now();
    const cursor = this.#cursor;
    const snapshot = this.#engine.snapshot();
    const json = JSON.stringify(snapshot);
    const t1 = performance.now();
    this.#lastSnapshotAt = t1;
    this.#lastSerializeMs = t1 - t0;
    this.#sinceSnapshot = 0;
    m.snapshotSeconds.observe((t1 - t0) / 1000, { phase: "serialize" });
    await this.#inflight;
    if (this.#commitError) return;
    const manifest = await saveSnapshot(this.#deps.aux, this.#o.prefix, {
      cursor,
      lastCommandId: snapshot.lastCommandId,
      json,
      takenAt: Date.now(),
    }, this.#o.snapshot);
    const t2 = performance.now();
    this.#manifest = manifest;
    this.#lastSnapshotCursor = cursor;
    m.snapshotSeconds.observe((t2 - t1) / 1000, { phase: "store" });
    m.snapshotBytes.set(manifest.jsonBytes, { form: "json" });
    m.snapshotBytes.set(manifest.bytes, { form: "stored" });
    m.snapshotTakenAt.set(manifest.takenAt / 1000);
    log.debug("snapshot saved", {
      cursor,
      jsonBytes: manifest.jsonBytes,
      bytes: manifest.bytes,
      serializeMs: Math.round(t1 - t0),
      storeMs: Math.round(t2 - t1),
    });
    await this.#trimCommands(cursor).catch((e) =>
      log.warn("trimming the command stream failed", { error: e })
    );
  }

  /** Trims commands the snapshot covers, as the retention settings allow. */
  async #trimCommands(snapshotCursor: string): Promise<void> {
    const aux = this.#deps.aux;
    const key = this.#commandsKey;
    let minId: string | undefined;
    if (this.#o.commandRetentionMs > 0) {
      const limit = `${Math.max(0, streamIdMs(snapshotCursor) - this.#o.commandRetentionMs)}-0`;
      minId = limit;
    }
    if (this.#o.commandMaxLen > 0 && await aux.xLen(key) > this.#o.commandMaxLen) minId = snapshotCursor;
    if (minId === undefined) return;
    // never past the snapshot: recovery needs every command after it
    if (compareStreamIds(minId, snapshotCursor) > 0) minId = snapshotCursor;
    // exact trimming: it runs once per snapshot, and approximate trimming keeps whole radix nodes
    await aux.xTrim(key, "MINID", minId);
  }
}
