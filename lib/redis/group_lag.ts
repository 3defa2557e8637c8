import type { Registry } from "@lib/metrics";
import type { RedisClient } from "./mod.ts";

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

/**
 * Registers the `consumer_lag` and `consumer_pending` gauges on `registry` and returns a probe that
 * measures each of `streams` (pairs of stream name and key) for `group`, setting the gauges and
 * `into[name]`. Call it once per process.
 */
export function groupLagProbe(
  redis: RedisClient,
  registry: Registry,
  group: string,
  streams: [name: string, key: string][],
  into: Record<string, { lag: number; pending: number }>,
): () => Promise<void> {
  const lagGauge = registry.gauge("consumer_lag", "Stream entries the group has not read yet");
  const pendingGauge = registry.gauge(
    "consumer_pending",
    "Entries read by the group but not yet acknowledged",
  );
  return async () => {
    for (const [name, key] of streams) {
      const l = await groupLag(redis, key, group);
      into[name] = { lag: l.lag, pending: l.pending };
      lagGauge.set(l.lag, { stream: name, group });
      pendingGauge.set(l.pending, { stream: name, group });
    }
  };
}
