import type { RedisClient } from "@lib/redis";

/** How far a consumer group is behind its stream. */
export interface GroupLag {
  /** Entries added to the stream that the group has not read yet (the tip minus the group's position). */
  lag: number;
  /** Entries read but not yet acknowledged (being processed, or lost by a crashed consumer). */
  pending: number;
  /** Id of the last entry delivered to the group. */
  lastDeliveredId: string;
}

/**
 * Lag and pending count of one consumer group (XINFO GROUPS, Redis 7). A missing stream or group
 * reads as "nothing behind". When Redis cannot tell the lag (entries deleted behind the group), the
 * stream length minus the entries read is used.
 */
export async function groupLag(redis: RedisClient, streamKey: string, group: string): Promise<GroupLag> {
  let groups;
  try {
    groups = await redis.xInfoGroups(streamKey);
  } catch (e) {
    if (String(e).includes("no such key")) return { lag: 0, pending: 0, lastDeliveredId: "0-0" };
    throw e;
  }
  const g = groups.find((x) => String(x.name) === group);
  if (!g) return { lag: await redis.xLen(streamKey), pending: 0, lastDeliveredId: "0-0" };
  let lag = g.lag as number | null;
  if (lag === null || lag === undefined) {
    const read = g["entries-read"] as number | null;
    lag = read === null ? await redis.xLen(streamKey) : Math.max(0, (await redis.xLen(streamKey)) - read);
  }
  return { lag: Number(lag), pending: Number(g.pending), lastDeliveredId: String(g["last-delivered-id"]) };
}
