/**
 * The engine's settings over time. Fees, limits and start balances come from the environment, so a
 * restart may change them; each start whose settings differ from the last recorded ones appends
 * `{ from, settings }` to `<prefix>:engine:settings`: the commands after stream id `from` were
 * applied with them. A replay (`tools replay`) follows this history, so it reproduces a stream whose
 * fees changed on the way.
 * @module
 */
import { compareStreamIds, type RedisClient } from "@lib/redis";
import type { EngineSettings, MatchingEngine, ReadModelChanges } from "./engine_api.ts";

export interface SettingsChange {
  /** Stream id of the last command applied before these settings (commands after it use them). */
  from: string;
  settings: EngineSettings;
}

export function settingsHistoryKey(prefix: string): string {
  return `${prefix}:engine:settings`;
}

/** The recorded history, oldest first (empty when nothing was recorded yet). */
export async function loadSettingsHistory(redis: RedisClient, prefix: string): Promise<SettingsChange[]> {
  const items = await redis.lRange(settingsHistoryKey(prefix), 0, -1);
  return items.map((text) => JSON.parse(text) as SettingsChange);
}

/** Appends `settings` from `from` on, unless the last recorded settings are the same. */
export async function recordSettings(
  redis: RedisClient,
  prefix: string,
  from: string,
  settings: EngineSettings,
): Promise<boolean> {
  const last = await redis.lIndex(settingsHistoryKey(prefix), -1);
  if (
    last !== null &&
    JSON.stringify((JSON.parse(last) as SettingsChange).settings) === JSON.stringify(settings)
  ) {
    return false;
  }
  await redis.rPush(settingsHistoryKey(prefix), JSON.stringify({ from, settings } satisfies SettingsChange));
  return true;
}

/** The settings in effect for the command after `position` (undefined before any record). */
export function settingsAt(history: readonly SettingsChange[], position: string): EngineSettings | undefined {
  let found: EngineSettings | undefined;
  for (const h of history) if (compareStreamIds(h.from, position) <= 0) found = h.settings;
  return found;
}

/** Two batches of read-model changes as one: the later state of an object wins. */
export function mergeChanges(a: ReadModelChanges, b: ReadModelChanges): ReadModelChanges {
  const byKey = <T>(x: T[], y: T[], key: (v: T) => string) => {
    const m = new Map(x.map((v) => [key(v), v]));
    for (const v of y) m.set(key(v), v);
    return [...m.values()];
  };
  return {
    orders: byKey(a.orders, b.orders, (o) => o.orderId),
    closedOrderIds: [...new Set([...a.closedOrderIds, ...b.closedOrderIds])],
    wallets: byKey(a.wallets, b.wallets, (w) => w.userId),
    markets: byKey(a.markets, b.markets, (m) => m.symbol),
    books: byKey(a.books, b.books, (bk) => bk.symbol),
  };
}

/**
 * Follows the settings history while commands are applied: before each command, `engineFor` gives
 * the engine to apply it with, rebuilt (snapshot, then restore with the other settings, as a restart
 * does) when the settings in effect change. Changes the rebuilt engine had not handed out yet are
 * kept and come back from `takeChanges`.
 */
export class SettingsFollower {
  #inUse: string;
  #pending: ReadModelChanges | undefined;

  constructor(
    readonly history: readonly SettingsChange[],
    readonly fallback: EngineSettings,
    readonly restore: (settings: EngineSettings, engine: MatchingEngine) => MatchingEngine,
    public engine: MatchingEngine,
    start: string,
  ) {
    this.#inUse = JSON.stringify(settingsAt(history, start) ?? fallback);
  }

  /** The settings for the command after `position`, applied to the engine if they changed. */
  at(position: string): MatchingEngine {
    if (this.history.length > 0) this.#switchTo(settingsAt(this.history, position) ?? this.fallback);
    return this.engine;
  }

  /** Switches to `settings` (the process's own, after a replay) when they differ. */
  finish(settings: EngineSettings): MatchingEngine {
    this.#switchTo(settings);
    return this.engine;
  }

  takeChanges(): ReadModelChanges {
    const changes = this.engine.takeChanges();
    const all = this.#pending ? mergeChanges(this.#pending, changes) : changes;
    this.#pending = undefined;
    return all;
  }

  #switchTo(settings: EngineSettings): void {
    const text = JSON.stringify(settings);
    if (text === this.#inUse) return;
    const changes = this.engine.takeChanges();
    this.#pending = this.#pending ? mergeChanges(this.#pending, changes) : changes;
    this.engine = this.restore(settings, this.engine);
    this.#inUse = text;
  }
}
