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
import type { RedisClient } from "@lib/redis";

/** What trimming must keep for the consumers: a number of newest entries, or all of them. */
export type ConsumerNeed = number | "all";

/** A group as the rule sees it. */
export interface GroupView {
  name: string;
  /** Entries not delivered yet; null when Redis cannot tell. */
  lag: number | null;
  /** Entries delivered and not acknowledged. */
  pending: number;
  /**
   * With pending entries: the entries from the oldest of them to the end of the stream, counted;
   * undefined when there are more than DEPTH_LIMIT (not counted).
   */
  depth?: number;
  /** Some entry has been held, unacknowledged, for longer than STALE_PENDING_MS. */
  stale?: boolean;
}

/**
 * An entry held this long without an acknowledgement belongs to a consumer that may be gone or
 * stuck (a database outage): nothing is trimmed until it is acknowledged or taken over.
 */
export const STALE_PENDING_MS = 30_000;

/** The most entries counted behind a group's oldest held one; deeper than that, nothing is trimmed. */
export const DEPTH_LIMIT = 256;

/**
 * The newest entries the groups need: without held entries, the undelivered ones (`lag`); with
 * some, every entry from the oldest held one on (held entries need not lie right behind the
 * undelivered ones: a second consumer, a batch committed out of order). "all" when that cannot be
 * told; undefined without groups (the cap alone decides).
 */
export function needOf(groups: readonly GroupView[]): ConsumerNeed | undefined {
  let need: number | undefined;
  for (const g of groups) {
    if (g.lag === null || g.stale) return "all";
    if (g.pending > 0 && g.depth === undefined) return "all";
    need = Math.max(need ?? 0, g.pending > 0 ? g.depth! : g.lag);
  }
  return need;
}

/** Reads the groups of `key` and applies {@linkcode needOf}. */
export async function consumerNeed(redis: RedisClient, key: string): Promise<ConsumerNeed | undefined> {
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
    const view: GroupView = { name, lag, pending };
    if (pending > 0 && lag !== null) {
      // XPENDING is read after XINFO: what the consumer acknowledged in between is no longer held.
      // Taking XINFO's count here made "held, but no oldest entry to count from" out of a batch
      // acknowledged a moment later, and so stopped trimming for a second, many times an hour.
      const summary = await redis.xPending(key, name);
      view.pending = Number(summary.pending);
      const oldest = summary.firstId;
      if (view.pending > 0 && oldest) {
        // held for long, by Redis' own count of the time since delivery
        const old = await redis.sendCommand(
          ["XPENDING", key, name, "IDLE", String(STALE_PENDING_MS), "-", "+", "1"],
        ) as unknown[];
        view.stale = old.length > 0;
        if (!view.stale && lag + view.pending <= DEPTH_LIMIT) {
          // the entries from the oldest held one to the end (usually a few: the batch in hand)
          const behind = await redis.xRevRange(key, "+", oldest, { COUNT: DEPTH_LIMIT + 1 });
          if (behind && behind.length <= DEPTH_LIMIT) view.depth = behind.length;
        }
      }
    }
    views.push(view);
  }
  return needOf(views);
}
