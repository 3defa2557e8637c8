/**
 * `tools replay`: rebuilds the matching engine's state from the command stream in a fresh engine and
 * compares it with what the running engine wrote: its latest snapshot and the read models (wallets,
 * markets, books, orders and open-order sets). Any difference means the engine is not deterministic
 * or a read model was changed behind its back.
 * @module
 */
import { keys, type OrderAck, streamKey, STREAMS } from "@lib/contracts";
import { loadConfig } from "@lib/config";
import { compareStreamIds, type RawEntry, type RedisClient } from "@lib/redis";
import type {
  CommandMeta,
  EngineSettings,
  EngineSnapshot,
  MatchingEngine,
  ReadModelChanges,
} from "../../services/matching-engine/engine_api.ts";
import type { EngineCommand } from "@lib/contracts";
import {
  mergeChanges,
  settingsAt,
  type SettingsChange,
  SettingsFollower,
} from "../../services/matching-engine/settings_history.ts";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  flag,
  InterruptedError,
  intOption,
  openRedis,
  type ParsedArgs,
  requireEngineState,
} from "../command.ts";
import { excerpt, formatDuration } from "../format.ts";
import { importOptional } from "../optional.ts";

/** What the replay needs from the engine's code; the command loads the real ones. */
export interface ReplayDeps {
  createEngine(settings: EngineSettings): MatchingEngine;
  restoreEngine?(settings: EngineSettings, snapshot: EngineSnapshot): MatchingEngine;
  settings: EngineSettings;
  /** Decodes a command entry exactly as the engine does (entries it dead-letters are skipped). */
  intake(
    prefix: string,
    entry: RawEntry,
  ): { ok: true; command: EngineCommand; meta: CommandMeta } | { ok: false };
  /** Ids of commands whose apply threw in the engine: skipped, as the engine's own recovery does. */
  poisonKey(prefix: string): string;
  loadSnapshot(
    redis: RedisClient,
    prefix: string,
  ): Promise<{ manifest: { cursor: string }; snapshot: EngineSnapshot } | undefined>;
  /** The settings the engine recorded at each start (fees may change between runs). */
  loadSettingsHistory?(redis: RedisClient, prefix: string): Promise<SettingsChange[]>;
}

/** One place where the replayed state and the live state disagree. */
export interface Difference {
  /** What differs: "wallet usr_1 .balances[0].free", "snapshot .state.books". */
  where: string;
  live: unknown;
  replay: unknown;
}

export interface ReplayReport {
  equal: boolean;
  /** From the beginning of the stream, or from the live snapshot. */
  from: "start" | "snapshot";
  checkpoint: string | null;
  applied: number;
  /** Entries the engine dead-lettered or found poisonous (skipped here too). */
  skipped: number;
  snapshot: { cursor: string; compared: boolean; equal: boolean } | null;
  compared: { wallets: number; markets: number; books: number; orders: number; openOrders: number };
  differences: Difference[];
  /** More differences than listed. */
  truncated: boolean;
  elapsedMs: number;
}

const CLOSED = new Set(["FILLED", "CANCELED", "EXPIRED", "REJECTED"]);

function pathOf(base: string, key: string | number): string {
  return typeof key === "number" ? `${base}[${key}]` : `${base}.${key}`;
}

/**
 * Collects the paths where two JSON values differ (objects by key, arrays by index). Stops after
 * `limit` differences; returns false when it stopped early.
 */
export function diffJson(
  live: unknown,
  replay: unknown,
  where: string,
  out: Difference[],
  limit: number,
  path = "",
): boolean {
  if (out.length >= limit) return false;
  if (Object.is(live, replay)) return true;
  const both = (t: string) => typeof live === t && typeof replay === t && live !== null && replay !== null;
  if (Array.isArray(live) && Array.isArray(replay)) {
    if (live.length !== replay.length) {
      out.push({ where: `${where} ${pathOf(path, "length")}`, live: live.length, replay: replay.length });
    }
    for (let i = 0; i < Math.min(live.length, replay.length); i++) {
      if (!diffJson(live[i], replay[i], where, out, limit, pathOf(path, i))) return false;
    }
    return out.length < limit;
  }
  if (both("object") && !Array.isArray(live) && !Array.isArray(replay)) {
    const a = live as Record<string, unknown>;
    const b = replay as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!diffJson(a[k], b[k], where, out, limit, pathOf(path, k))) return false;
    }
    return out.length < limit;
  }
  out.push({ where: `${where} ${path}`.trim(), live, replay });
  return out.length < limit;
}

/**
 * A snapshot path in the words of the state it points into: `.state.free[6]` is the free balance of
 * a user in an asset (balances are user-major), `.state.book.price[12]` a field of a resting order.
 * Paths it does not know stay as they are.
 */
export function nameSnapshotPath(where: string, state: unknown): string {
  const s = state as {
    users?: string[];
    assets?: [string, number][];
    book?: { id?: number[] };
    closed?: { id?: number[] };
  };
  const balance = /^snapshot \.state\.(free|locked)\[(\d+)\]$/.exec(where);
  const nAssets = s?.assets?.length ?? 0;
  if (balance && nAssets > 0) {
    const i = Number(balance[2]);
    const user = s.users?.[Math.floor(i / nAssets)];
    const asset = s.assets?.[i % nAssets]?.[0];
    if (user !== undefined && asset !== undefined) {
      return `snapshot ${balance[1]} balance of ${user} in ${asset} (minor units)`;
    }
  }
  const order = /^snapshot \.state\.(book|closed)\.(\w+)\[(\d+)\](.*)$/.exec(where);
  if (order) {
    const id = s?.[order[1] as "book" | "closed"]?.id?.[Number(order[3])];
    if (id !== undefined) {
      return `snapshot ${order[1] === "book" ? "resting" : "closed"} order #${id} .${order[2]}${order[4]}`;
    }
  }
  return where;
}

/** JSON round trip: what the engine would have written to Redis for a value. */
function asStored<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

/**
 * The replay's snapshot in the live one's format when the live one was written by the engine before
 * core state version 2 (until the engine writes its next snapshot): without the fee history, when
 * that holds one rate set (all a version 1 state could say), so that the format alone is no difference.
 */
export function inFormatOf(live: EngineSnapshot, replayed: EngineSnapshot): EngineSnapshot {
  const l = live.state as { version?: number };
  const r = replayed.state as { version?: number; feeHistory?: unknown[] };
  if (l?.version !== 1 || r?.version !== 2 || (r.feeHistory?.length ?? 0) > 1) return replayed;
  const { feeHistory: _dropped, ...rest } = r;
  return { ...replayed, state: { ...rest, version: 1 } };
}

function parseOrNull(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const r = await redis.scan(cursor, { MATCH: pattern, COUNT: 1000 });
    cursor = String(r.cursor);
    found.push(...r.keys.map(String));
  } while (cursor !== "0");
  return found;
}

/**
 * The live read models a comparison looks at, read in ONE transaction together with the checkpoint:
 * the engine commits its read models and its checkpoint in one transaction too, so what is read here
 * is exactly the state at `checkpoint`, however busy the engine is.
 */
interface LiveReadModels {
  checkpoint: string | null;
  /** Commands after the replay's cursor, read in the same transaction (the engine may be ahead). */
  after: RawEntry[];
  wallets: Record<string, string>;
  markets: Record<string, string>;
  books: Map<string, string | null>;
  orders: Map<string, string | null>;
  open: Map<string, string[]>;
}

async function readLive(
  redis: RedisClient,
  prefix: string,
  changes: ReadModelChanges,
  users: string[],
  cursor: string,
): Promise<LiveReadModels> {
  const m = redis.multi();
  m.get(keys.checkpoint(prefix));
  m.xRange(streamKey(prefix, STREAMS.orders), `(${cursor}`, "+", { COUNT: CATCH_UP_ENTRIES });
  m.hGetAll(keys.wallets(prefix));
  m.hGetAll(keys.markets(prefix));
  for (const b of changes.books) m.get(keys.book(prefix, b.symbol));
  if (changes.orders.length) m.mGet(changes.orders.map((o) => keys.order(prefix, o.orderId)));
  for (const u of users) m.zRange(keys.openOrders(prefix, u), 0, -1);
  const replies = (await m.exec()) as unknown[];
  let i = 0;
  const live: LiveReadModels = {
    checkpoint: replies[i++] as string | null,
    after: ((replies[i++] ?? []) as (RawEntry | null)[]).filter((e): e is RawEntry => e !== null),
    wallets: replies[i++] as Record<string, string>,
    markets: replies[i++] as Record<string, string>,
    books: new Map(),
    orders: new Map(),
    open: new Map(),
  };
  for (const b of changes.books) live.books.set(b.symbol, replies[i++] as string | null);
  if (changes.orders.length) {
    const texts = replies[i++] as (string | null)[];
    changes.orders.forEach((o, j) => live.orders.set(o.orderId, texts[j]));
  }
  for (const u of users) live.open.set(u, (replies[i++] as unknown[]).map(String));
  return live;
}

/** Commands read with the read models, to catch up with an engine that moved on. */
const CATCH_UP_ENTRIES = 20_000;

/**
 * Compares replayed read models with the live ones. With `complete` (a replay from the start),
 * objects that exist live but not in the replay count as differences too.
 */
function compareReadModels(
  live: LiveReadModels,
  changes: ReadModelChanges,
  complete: boolean,
  out: Difference[],
  limit: number,
): ReplayReport["compared"] {
  const compared = { wallets: 0, markets: 0, books: 0, orders: 0, openOrders: 0 };
  const hashModel = (
    liveHash: Record<string, string>,
    items: { id: string; value: unknown }[],
    label: string,
  ) => {
    const seen = new Set<string>();
    for (const { id, value } of items) {
      seen.add(id);
      const l = parseOrNull(liveHash[id]);
      if (l === undefined) out.push({ where: `${label} ${id}`, live: "(missing)", replay: value });
      else diffJson(l, asStored(value), `${label} ${id}`, out, limit);
    }
    if (complete) {
      for (const id of Object.keys(liveHash)) {
        if (!seen.has(id)) {
          out.push({ where: `${label} ${id}`, live: parseOrNull(liveHash[id]), replay: "(missing)" });
        }
      }
    }
    return items.length;
  };
  compared.wallets = hashModel(
    live.wallets,
    changes.wallets.map((w) => ({ id: w.userId, value: w })),
    "wallet",
  );
  compared.markets = hashModel(
    live.markets,
    changes.markets.map((m) => ({ id: m.symbol, value: m })),
    "market",
  );

  for (const b of changes.books) {
    if (!live.books.has(b.symbol)) continue; // a book first touched while catching up
    const l = parseOrNull(live.books.get(b.symbol));
    if (l === undefined) out.push({ where: `book ${b.symbol}`, live: "(missing)", replay: b });
    else diffJson(l, asStored(b), `book ${b.symbol}`, out, limit);
    compared.books++;
  }

  // orders: each replayed order's JSON, then the open-order set of every user
  const closedIds = new Set(changes.closedOrderIds);
  const openByUser = new Map<string, Set<string>>();
  const changed = new Set<string>();
  for (const o of changes.orders) {
    changed.add(o.orderId);
    const open = !CLOSED.has(o.status) && !closedIds.has(o.orderId);
    if (open) {
      let set = openByUser.get(o.userId);
      if (!set) openByUser.set(o.userId, set = new Set());
      set.add(o.orderId);
    }
    // an order first seen in the commands caught up with was not read: it is compared next time
    if (!live.orders.has(o.orderId)) continue;
    const l = parseOrNull(live.orders.get(o.orderId));
    // a closed order's JSON expires after its TTL: absence is expected then
    if (l === undefined) {
      if (open) out.push({ where: `order ${o.orderId}`, live: "(missing)", replay: o });
    } else diffJson(l, asStored(o as OrderAck), `order ${o.orderId}`, out, limit);
    compared.orders++;
  }
  for (const [u, liveIds] of [...live.open].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const liveSet = new Set(liveIds);
    const replay = openByUser.get(u) ?? new Set<string>();
    const onlyLive = liveIds.filter((id) => !replay.has(id) && (complete || changed.has(id)));
    const onlyReplay = [...replay].filter((id) => !liveSet.has(id));
    if (onlyLive.length || onlyReplay.length) {
      out.push({
        where: `open orders of ${u}`,
        live: onlyLive.length ? onlyLive : "-",
        replay: onlyReplay.length ? onlyReplay : "-",
      });
    }
    compared.openOrders += replay.size;
  }
  return compared;
}

/** Users whose open-order sets are compared: the replayed ones, and with `complete` every one in Redis. */
async function usersToCompare(
  redis: RedisClient,
  prefix: string,
  changes: ReadModelChanges,
  complete: boolean,
): Promise<string[]> {
  const users = new Set(changes.orders.map((o) => o.userId));
  if (complete) {
    const base = keys.openOrders(prefix, "");
    for (const k of await scanKeys(redis, `${base}*`)) users.add(k.slice(base.length));
  }
  return [...users].sort();
}

/** How many entries were removed from a stream (trimmed or deleted) and the highest id XDEL removed. */
async function removals(redis: RedisClient, key: string): Promise<{ removed: number; maxDeleted: string }> {
  const info = await redis.sendCommand(["XINFO", "STREAM", key]).catch(() => undefined) as
    | unknown[]
    | undefined;
  if (!info) return { removed: 0, maxDeleted: "0-0" };
  const field = (name: string) => {
    const i = info.indexOf(name);
    return i >= 0 ? info[i + 1] : undefined;
  };
  // XTRIM does not move max-deleted-entry-id, so trimming shows only in entries-added vs length
  const removed = Number(field("entries-added") ?? 0) - Number(field("length") ?? 0);
  return { removed: Math.max(0, removed), maxDeleted: String(field("max-deleted-entry-id") ?? "0-0") };
}

export interface ReplayOptions {
  /** Restore the live snapshot first and replay only what follows it. */
  fromSnapshot?: boolean;
  /** Differences listed at most. @default {20} */
  maxDifferences?: number;
  onProgress?: (applied: number) => void;
  signal?: AbortSignal;
}

/** Replays `<prefix>:stream:orders` up to the engine's checkpoint and compares. */
export async function runReplay(
  redis: RedisClient,
  prefix: string,
  deps: ReplayDeps,
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const t0 = performance.now();
  const limit = options.maxDifferences ?? 20;
  const key = streamKey(prefix, STREAMS.orders);
  const checkpoint = await redis.get(keys.checkpoint(prefix));
  const live = await deps.loadSnapshot(redis, prefix);
  const differences: Difference[] = [];
  let engine: MatchingEngine;
  let cursor = "0-0";
  let from: ReplayReport["from"] = "start";
  // the engine's recorded settings over time; without a record, this environment's
  const history = (await deps.loadSettingsHistory?.(redis, prefix)) ?? [];
  if (options.fromSnapshot) {
    if (!live) throw new Error("--from-snapshot: there is no engine snapshot under this prefix yet");
    if (!deps.restoreEngine) {
      throw new Error("--from-snapshot: the engine code does not export restoreEngine");
    }
    cursor = live.manifest.cursor;
    engine = deps.restoreEngine(settingsAt(history, cursor) ?? deps.settings, live.snapshot);
    from = "snapshot";
  } else {
    engine = deps.createEngine(settingsAt(history, cursor) ?? deps.settings);
  }
  const restore = deps.restoreEngine;
  const follow = restore
    ? new SettingsFollower(history, deps.settings, (s, e) => restore(s, e.snapshot()), engine, cursor)
    : undefined;
  const gone = await removals(redis, key);
  if (from === "start" && gone.removed > 0) {
    throw new Error(
      `${gone.removed} commands were trimmed or deleted from ${key}, so the state cannot be rebuilt from the ` +
        "beginning (use --from-snapshot to start from the engine's snapshot)",
    );
  }
  if (from === "snapshot" && compareStreamIds(gone.maxDeleted, cursor) > 0) {
    throw new Error(
      `command ${gone.maxDeleted}, after the snapshot, was deleted from ${key}: the replay would be wrong`,
    );
  }
  const poison = new Set((await redis.sMembers(deps.poisonKey(prefix))).map(String));
  let applied = 0;
  let skipped = 0;
  const snapCursor = from === "start" && live ? live.manifest.cursor : undefined;
  let snapshotTaken: EngineSnapshot | undefined;
  const takeSnapshot = () => {
    if (snapCursor !== undefined && snapshotTaken === undefined) snapshotTaken = asStored(engine.snapshot());
  };
  /** Applies `entries` (in stream order, after `cursor`) up to `target` inclusive. */
  const applyEntries = (entries: RawEntry[], target: string) => {
    for (const entry of entries) {
      if (compareStreamIds(entry.id, target) > 0) break;
      if (snapCursor !== undefined && compareStreamIds(entry.id, snapCursor) > 0) takeSnapshot();
      const r = poison.has(entry.id) ? { ok: false as const } : deps.intake(prefix, entry);
      if (r.ok) {
        if (follow) engine = follow.at(cursor);
        engine.apply(r.command, r.meta);
        applied++;
      } else skipped++;
      cursor = entry.id;
    }
  };
  if (checkpoint !== null && compareStreamIds(checkpoint, cursor) > 0) {
    const page = 5000;
    while (!options.signal?.aborted) {
      const entries = (await redis.xRange(key, `(${cursor}`, checkpoint, { COUNT: page })) as RawEntry[];
      applyEntries(entries, checkpoint);
      options.onProgress?.(applied);
      if (entries.length < page) break;
    }
    if (options.signal?.aborted) throw new InterruptedError();
  }
  if (snapCursor !== undefined && compareStreamIds(cursor, snapCursor) >= 0) takeSnapshot();
  let snapshot: ReplayReport["snapshot"] = null;
  if (live) {
    if (snapshotTaken !== undefined) {
      const before = differences.length;
      diffJson(
        asStored(live.snapshot),
        inFormatOf(live.snapshot, snapshotTaken),
        "snapshot",
        differences,
        limit,
      );
      for (let i = before; i < differences.length; i++) {
        differences[i] = {
          ...differences[i],
          where: nameSnapshotPath(differences[i].where, live.snapshot.state),
        };
      }
      snapshot = { cursor: live.manifest.cursor, compared: true, equal: differences.length === before };
    } else snapshot = { cursor: live.manifest.cursor, compared: false, equal: true };
  }
  let changes = follow ? follow.takeChanges() : engine.takeChanges();
  if (from === "start") {
    // the engine process writes the configured markets at start; commands only change some of them
    const markets = [...changes.markets];
    for (const spec of deps.settings.markets) {
      if (!markets.some((m) => m.symbol === spec.symbol)) markets.push(spec);
    }
    changes.markets = markets;
  }
  // A running engine moves on meanwhile. The read models are read in one transaction with the
  // checkpoint they belong to and the commands after the replay; the replay catches up with those
  // commands, and the comparison is against that one consistent state.
  let now: LiveReadModels | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const users = await usersToCompare(redis, prefix, changes, from === "start");
    now = await readLive(redis, prefix, changes, users, cursor);
    if (now.checkpoint === null || now.checkpoint === cursor) break;
    applyEntries(now.after, now.checkpoint);
    changes = mergeChanges(changes, follow ? follow.takeChanges() : engine.takeChanges());
    if (cursor === now.checkpoint) break;
  }
  if (!now || (now.checkpoint !== null && now.checkpoint !== cursor)) {
    throw new Error(
      `the engine is too far ahead of the replay to compare (checkpoint ${now?.checkpoint}, replay at ${cursor}); ` +
        "run it again in a quieter moment",
    );
  }
  const compared = compareReadModels(now, changes, from === "start", differences, limit);
  const truncated = differences.length >= limit;
  return {
    equal: differences.length === 0,
    from,
    checkpoint: now.checkpoint ?? checkpoint,
    applied,
    skipped,
    snapshot,
    compared,
    differences: differences.slice(0, limit),
    truncated,
    elapsedMs: performance.now() - t0,
  };
}

function show(v: unknown): string {
  return typeof v === "string" ? v : excerpt(JSON.stringify(v) ?? "undefined", 100);
}

/** Text lines of a report. */
export function formatReplay(r: ReplayReport, style: CommandContext["out"]["style"]): string[] {
  const lines = [
    `replayed ${r.applied} commands from ${
      r.from === "start" ? "the start of stream:orders" : "the engine snapshot"
    }` +
    ` up to checkpoint ${r.checkpoint ?? "(none)"} in ${formatDuration(r.elapsedMs)}` +
    (r.skipped ? ` (${r.skipped} dead-lettered entries skipped, as the engine did)` : ""),
  ];
  if (r.checkpoint === null) {
    lines.push(style.dim("the engine has not applied any command under this prefix yet"));
  }
  if (r.snapshot) {
    lines.push(
      r.snapshot.compared
        ? `snapshot at ${r.snapshot.cursor}: ${
          r.snapshot.equal ? style.green("equal") : style.red("different")
        }`
        : style.dim(`snapshot at ${r.snapshot.cursor}: not compared (it is the replay's starting point)`),
    );
  }
  const c = r.compared;
  lines.push(
    `read models compared: ${c.wallets} wallets, ${c.markets} markets, ${c.books} books, ${c.orders} orders (${c.openOrders} open)`,
  );
  if (r.equal) lines.push(style.green("EQUAL: the replayed state matches the live one"));
  else {
    lines.push(
      style.red(`DIFFERENT: ${r.differences.length}${r.truncated ? "+" : ""} difference(s)`) +
        (r.truncated ? style.dim(" (first ones shown; --max-differences N for more)") : ""),
    );
    for (const d of r.differences) {
      lines.push(
        `  ${style.bold(d.where)}: live ${style.yellow(show(d.live))}, replay ${style.cyan(show(d.replay))}`,
      );
    }
  }
  return lines;
}

/** Loads the engine's code and the settings the engine process would use (from this environment). */
export async function loadReplayDeps(env: Record<string, string | undefined>): Promise<ReplayDeps> {
  const engine = await importOptional<{
    createEngine: ReplayDeps["createEngine"];
    restoreEngine?: ReplayDeps["restoreEngine"];
    defaultEngineSettings: () => EngineSettings;
  }>("services/matching-engine/engine.ts", ["createEngine", "defaultEngineSettings"]);
  const config = await import("../../services/matching-engine/config.ts");
  const { intake } = await import("../../services/matching-engine/intake.ts");
  const { poisonKey } = await import("../../services/matching-engine/outputs.ts");
  const { loadSnapshot } = await import("../../services/matching-engine/snapshot_store.ts");
  const { loadSettingsHistory } = await import("../../services/matching-engine/settings_history.ts");
  const settings = config.engineSettingsFrom(
    loadConfig(config.EngineConfig, env),
    engine.defaultEngineSettings(),
  );
  return {
    createEngine: engine.createEngine,
    restoreEngine: typeof engine.restoreEngine === "function" ? engine.restoreEngine : undefined,
    settings,
    intake,
    poisonKey,
    loadSnapshot,
    loadSettingsHistory,
  };
}

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  expectPositionals(args, 0, "replay");
  const maxDifferences = intOption(args, "max-differences", 20, { max: 100_000 });
  const env = Deno.env.toObject();
  // the engine reads the same prefix from its environment; the tools' --prefix wins
  env.KALENCY_PREFIX = ctx.options.prefix;
  const deps = await loadReplayDeps(env);
  await using redis = await openRedis(ctx);
  await requireEngineState(redis, ctx.options.prefix);
  const report = await runReplay(redis, ctx.options.prefix, deps, {
    fromSnapshot: flag(args, "from-snapshot"),
    maxDifferences,
    signal: ctx.signal,
    onProgress: (n) => ctx.out.progress(`replayed ${n} commands`),
  });
  ctx.out.endProgress();
  ctx.out.record({ kind: "replay", ...report }, formatReplay(report, ctx.out.style));
  return report.equal ? 0 : 1;
}

export const replayCommand: Command = {
  name: "replay",
  summary: "rebuild the engine state from stream:orders and compare it with the live one",
  usage: ["replay [--from-snapshot] [--max-differences N]"],
  description: [
    "Applies every command of <prefix>:stream:orders up to the engine's checkpoint to a fresh engine, each",
    "command with the settings the engine ran it with (recorded at each of its starts; where none are",
    "recorded, the KALENCY_* variables of this environment), skipping the entries the engine dead-lettered. It then compares the state at the live snapshot's position with",
    "that snapshot, and the final state with the read models in Redis (wallets, markets, books, orders,",
    "open-order sets). Exit status 0 when everything is equal, 1 on any difference (listed by path).",
    "--from-snapshot restores the live snapshot first and replays only the commands after it (needed when",
    "old commands were trimmed); it then checks only the objects those commands touched.",
  ].join("\n"),
  examples: ["replay", "replay --from-snapshot --json"],
  options: {
    "from-snapshot": {
      type: "boolean",
      description: "start from the engine's snapshot instead of the beginning",
    },
    "max-differences": { type: "string", value: "N", description: "list at most N differences (default 20)" },
  },
  run,
};
