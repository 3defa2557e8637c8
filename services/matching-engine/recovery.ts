/**
 * Recovery: the latest snapshot (or a fresh engine), then the commands after it up to the checkpoint,
 * re-applied WITHOUT writing their outputs (those were committed with the checkpoint already).
 * The engine is deterministic, so this rebuilds exactly the state the outputs describe.
 * @module
 */
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { compareStreamIds, type RawEntry, type RedisClient } from "@lib/redis";
import type { Logger } from "@lib/log";
import type { EngineSettings, EngineSnapshot, MatchingEngine, ReadModelChanges } from "./engine_api.ts";
import { intake } from "./intake.ts";
import { poisonKey } from "./outputs.ts";
import { loadSnapshot, type SnapshotManifest } from "./snapshot_store.ts";
import { loadSettingsHistory, settingsAt, SettingsFollower } from "./settings_history.ts";

/** How the process builds engines; main.ts passes the real ones from engine.ts. */
export interface EngineFactory {
  createEngine(settings: EngineSettings): MatchingEngine;
  restoreEngine(settings: EngineSettings, snapshot: EngineSnapshot): MatchingEngine;
}

/** Thrown when the state cannot be rebuilt faithfully; the process must stop rather than guess. */
export class RecoveryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RecoveryError";
  }
}

export interface Recovered {
  engine: MatchingEngine;
  /** The last command-stream id the state covers ("0-0" when none). */
  cursor: string;
  /** The checkpoint as found in Redis; the next commit replaces exactly this value. */
  checkpoint: string | null;
  manifest: SnapshotManifest | undefined;
  /** Commands re-applied after the snapshot. */
  replayed: number;
  /** No snapshot and no checkpoint: nothing was ever applied under this prefix. */
  fresh: boolean;
  /** Read models touched by the replay (with `collectChanges`, or on a fresh start). */
  changes: ReadModelChanges | undefined;
  timings: { loadMs: number; restoreMs: number; replayMs: number };
}

export interface RecoverOptions {
  log?: Logger;
  /** XRANGE page size. @default {10000} */
  pageSize?: number;
  /** Keep the read-model changes of the replay (to rewrite them); otherwise they are dropped. */
  collectChanges?: boolean;
  /** Commands to apply after the checkpoint too, in replay mode (the part of a batch before a poison command). */
  extra?: RawEntry[];
}

/** Rebuilds the engine from the snapshot and the command stream up to the checkpoint. */
export async function recoverEngine(
  redis: RedisClient,
  prefix: string,
  factory: EngineFactory,
  settings: EngineSettings,
  options: RecoverOptions = {},
): Promise<Recovered> {
  const t0 = performance.now();
  const loaded = await loadSnapshot(redis, prefix);
  const checkpoint = await redis.get(keys.checkpoint(prefix));
  // the commands since the snapshot were applied with the settings recorded for them, which may not
  // be this process's (a restart with other fees): replay with those, then switch to our own
  const history = await loadSettingsHistory(redis, prefix);
  const from = loaded?.manifest.cursor ?? "0-0";
  const first = settingsAt(history, from) ?? settings;
  const t1 = performance.now();
  let engine: MatchingEngine;
  try {
    engine = loaded ? factory.restoreEngine(first, loaded.snapshot) : factory.createEngine(first);
  } catch (e) {
    throw new RecoveryError(`Cannot restore the engine from the snapshot: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const follow = new SettingsFollower(
    history,
    settings,
    (s, e) => factory.restoreEngine(s, e.snapshot()),
    engine,
    from,
  );
  const t2 = performance.now();
  let cursor = from;
  let replayed = 0;
  const collect = options.collectChanges ?? false;
  if (checkpoint !== null && compareStreamIds(checkpoint, from) > 0) {
    const key = streamKey(prefix, STREAMS.orders);
    await assertNotTrimmed(redis, key, from);
    const poison = new Set(await redis.sMembers(poisonKey(prefix)));
    const pageSize = options.pageSize ?? 10_000;
    for (;;) {
      const page =
        (await redis.xRange(key, `(${cursor}`, checkpoint, { COUNT: pageSize }) ?? []) as RawEntry[];
      if (page.length === 0) break;
      for (const entry of page) {
        replayOne(prefix, follow.at(cursor), entry, poison);
        cursor = entry.id;
      }
      replayed += page.length;
      if (!collect) follow.takeChanges();
      if (page.length < pageSize || cursor === checkpoint) break;
    }
    if (cursor !== checkpoint) {
      throw new RecoveryError(
        `Cannot recover: the checkpoint is ${checkpoint} but the command stream ends at ${cursor}`,
      );
    }
  } else if (checkpoint !== null && compareStreamIds(checkpoint, from) < 0) {
    // the snapshot is saved only after its cursor is committed, so this means the checkpoint key was lost
    options.log?.warn("checkpoint is older than the snapshot; continuing from the snapshot", {
      checkpoint,
      snapshot: from,
    });
  }
  // from here on the commands are this process's: its own settings
  engine = follow.finish(settings);
  for (const entry of options.extra ?? []) {
    replayOne(prefix, engine, entry, new Set());
    cursor = entry.id;
  }
  const fresh = !loaded && checkpoint === null;
  // a fresh engine's first changes (markets, empty books) are the initial read models
  const changes = collect || fresh ? follow.takeChanges() : (follow.takeChanges(), undefined);
  const t3 = performance.now();
  return {
    engine,
    cursor,
    checkpoint,
    manifest: loaded?.manifest,
    replayed,
    fresh,
    changes,
    timings: { loadMs: t1 - t0, restoreMs: t2 - t1, replayMs: t3 - t2 },
  };
}

function replayOne(prefix: string, engine: MatchingEngine, entry: RawEntry, poison: Set<string>): void {
  if (poison.has(entry.id)) return;
  const r = intake(prefix, entry);
  if (!r.ok) return; // it was dead-lettered when it first arrived
  try {
    engine.apply(r.command, r.meta);
  } catch (e) {
    // it did not throw when it was first applied (or it would be in the poison set): not deterministic
    throw new RecoveryError(
      `Cannot recover: command ${entry.id} threw during replay but not when first applied: ${
        (e as Error).message
      }`,
      { cause: e },
    );
  }
}

/** Fails when commands after `from` were trimmed: the state could not be rebuilt from what is left. */
async function assertNotTrimmed(redis: RedisClient, key: string, from: string): Promise<void> {
  const info = await redis.sendCommand(["XINFO", "STREAM", key]).catch(() => undefined) as
    | unknown[]
    | undefined;
  if (!info) throw new RecoveryError(`Cannot recover: the checkpoint is set but ${key} does not exist`);
  const i = info.indexOf("max-deleted-entry-id");
  const maxDeleted = i >= 0 ? String(info[i + 1]) : "0-0";
  if (compareStreamIds(maxDeleted, from) > 0) {
    throw new RecoveryError(
      `Cannot recover: commands up to ${maxDeleted} were trimmed from ${key} but the snapshot only covers up to ${from}`,
    );
  }
}
