/**
 * How many of a stream's newest entries its consumer groups still need, so that the engine's
 * trimming never drops an entry a group has not read and acknowledged. MAXLEN alone knows nothing
 * of consumers: a ledger writer stuck on a database outage for minutes, while the engine kept
 * writing, found the entries it had not read trimmed away (trades missing from the ledger).
 *
 * `consumerNeed` reads the groups (XINFO GROUPS, and XPENDING for a group holding entries);
 * `needOf` is the rule, pure.
 * @module
 */
import { type RedisClient, streamIdMs } from "@lib/redis";

/** What trimming must keep for the consumers: a number of newest entries, or all of them. */
export type ConsumerNeed = number | "all";

/** A group as the rule sees it. */
export interface GroupView {
  name: string;
  /** Entries not delivered yet; null when Redis cannot tell. */
  lag: number | null;
  /** Entries delivered and not acknowledged. */
  pending: number;
  /** Time (ms) of the oldest of them, when there are any. */
  oldestPendingMs?: number;
}

/**
 * Pending entries older than this are held by a consumer that may be gone or stuck (a database
 * outage): how far back they reach is unknown, so nothing is trimmed until they are acknowledged.
 */
export const STALE_PENDING_MS = 30_000;

/**
 * The newest entries the groups need: for each, the ones it has not been given (`lag`) and the ones
 * it holds (`pending`, right behind them while it is working). A group whose lag Redis cannot tell,
 * or that holds entries for longer than STALE_PENDING_MS, needs them all. Undefined without groups.
 */
export function needOf(groups: readonly GroupView[], nowMs: number): ConsumerNeed | undefined {
  let need: number | undefined;
  for (const g of groups) {
    if (g.lag === null) return "all";
    if (g.pending > 0 && (g.oldestPendingMs === undefined || nowMs - g.oldestPendingMs > STALE_PENDING_MS)) {
      return "all";
    }
    need = Math.max(need ?? 0, g.lag + g.pending);
  }
  return need;
}

/** Reads the groups of `key` and applies {@linkcode needOf}. */
export async function consumerNeed(
  redis: RedisClient,
  key: string,
  nowMs = Date.now(),
): Promise<ConsumerNeed | undefined> {
  let groups: Record<string, unknown>[];
  try {
    groups = (await redis.xInfoGroups(key)) as unknown as Record<string, unknown>[];
  } catch (e) {
    if (/no such key/i.test(String(e))) return undefined; // no stream yet: nothing to keep
    throw e;
  }
  const views: GroupView[] = [];
  for (const g of groups) {
    const name = String(g.name);
    const pending = Number(g.pending ?? 0);
    const lag = g.lag === null || g.lag === undefined ? null : Number(g.lag);
    let oldestPendingMs: number | undefined;
    if (pending > 0) {
      const summary = await redis.xPending(key, name);
      if (summary.firstId) oldestPendingMs = streamIdMs(summary.firstId);
    }
    views.push({ name, lag, pending, oldestPendingMs });
  }
  return needOf(views, nowMs);
}
