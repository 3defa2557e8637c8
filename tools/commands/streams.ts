/**
 * `tools streams`: every stream under the prefix with its length, first and last entries, consumer
 * groups (pending, lag) and the matching engine's checkpoint lag.
 * @module
 */
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { type RawEntry, type RedisClient, streamMessagesAdded } from "@lib/redis";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  openRedis,
  type ParsedArgs,
} from "../command.ts";
import { formatClock, formatDateTime, formatDuration, idMs, table } from "../format.ts";

/** One consumer group of a stream (XINFO GROUPS). */
export interface GroupInfo {
  name: string;
  consumers: number;
  pending: number;
  lastDeliveredId: string;
  /** Entries the group has read; null when Redis cannot tell (after deletions). */
  entriesRead: number | null;
  /** Entries not yet delivered to the group; null when Redis cannot tell. */
  lag: number | null;
}

/** One stream (XINFO STREAM). */
export interface StreamInfo {
  stream: string;
  key: string;
  length: number;
  entriesAdded: number | null;
  /**
   * Messages ever added: for the engine's packed output streams (one entry per batch) what their
   * entries carried, from `stats:messages-added`; for other streams the same as `entriesAdded`.
   */
  messagesAdded: number | null;
  firstId: string | null;
  lastId: string | null;
  firstTime: string | null;
  lastTime: string | null;
  groups: GroupInfo[];
}

/** How far the matching engine's checkpoint is behind the command stream. */
export interface EngineLag {
  checkpoint: string | null;
  lastCommandId: string | null;
  /** Commands after the checkpoint (capped at `cap`; `capped` says so). */
  behind: number;
  capped: boolean;
  /** Milliseconds between the checkpoint's id and the last command's id. */
  behindMs: number | null;
}

const LAG_CAP = 10_000;

/** Every stream key under `<prefix>:stream:`, sorted. */
export async function scanStreams(redis: RedisClient, prefix: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = "0";
  do {
    const r = await redis.scan(cursor, { MATCH: `${prefix}:stream:*`, COUNT: 1000, TYPE: "stream" });
    cursor = String(r.cursor);
    for (const k of r.keys) found.add(String(k));
  } while (cursor !== "0");
  return [...found].sort();
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/**
 * Reads one stream's info and groups. `packed`: the `stats:messages-added` hash, read once for every
 * stream.
 */
export async function streamInfo(
  redis: RedisClient,
  prefix: string,
  key: string,
  packed: Record<string, string>,
): Promise<StreamInfo> {
  const info = await redis.xInfoStream(key) as unknown as Record<string, unknown>;
  const groups = await redis.xInfoGroups(key) as unknown as Record<string, unknown>[];
  const first = info["first-entry"] as RawEntry | null;
  const last = info["last-entry"] as RawEntry | null;
  const stream = key.slice(`${prefix}:stream:`.length);
  const entriesAdded = num(info["entries-added"]);
  return {
    stream,
    key,
    length: Number(info.length),
    entriesAdded,
    messagesAdded: streamMessagesAdded(packed, stream, entriesAdded),
    firstId: first?.id ?? null,
    lastId: last?.id ?? null,
    firstTime: first ? new Date(idMs(first.id)).toISOString() : null,
    lastTime: last ? new Date(idMs(last.id)).toISOString() : null,
    groups: groups.map((g) => ({
      name: String(g.name),
      consumers: Number(g.consumers),
      pending: Number(g.pending),
      lastDeliveredId: String(g["last-delivered-id"]),
      entriesRead: num(g["entries-read"]),
      lag: num(g.lag),
    })),
  };
}

/** The engine's checkpoint against the last command id of `stream:orders`. */
export async function engineLag(redis: RedisClient, prefix: string): Promise<EngineLag> {
  const key = streamKey(prefix, STREAMS.orders);
  const checkpoint = await redis.get(keys.checkpoint(prefix));
  const last = (await redis.xRevRange(key, "+", "-", { COUNT: 1 })) as RawEntry[];
  const lastCommandId = last[0]?.id ?? null;
  let behind = 0;
  let capped = false;
  if (lastCommandId) {
    const after = (await redis.xRange(key, checkpoint ? `(${checkpoint}` : "-", "+", {
      COUNT: LAG_CAP + 1,
    })) as RawEntry[];
    behind = Math.min(after.length, LAG_CAP);
    capped = after.length > LAG_CAP;
  }
  const behindMs = lastCommandId && checkpoint
    ? Math.max(0, idMs(lastCommandId) - idMs(checkpoint))
    : lastCommandId
    ? null
    : 0;
  return { checkpoint, lastCommandId, behind, capped, behindMs };
}

function idCell(id: string | null, style: CommandContext["out"]["style"]): string {
  if (!id) return style.dim("-");
  const ms = idMs(id);
  const today = new Date(ms).toDateString() === new Date().toDateString();
  return `${id} ${style.dim(today ? formatClock(ms) : formatDateTime(ms))}`;
}

/** Text lines of the report. */
export function formatStreams(
  infos: StreamInfo[],
  engine: EngineLag,
  style: CommandContext["out"]["style"],
  prefix: string,
): string[] {
  const lines: string[] = [];
  if (infos.length === 0) {
    lines.push(
      style.dim(`no streams under the prefix ${prefix} yet (another one: --prefix or KALENCY_PREFIX)`),
    );
  } else {
    lines.push(...table(
      ["STREAM", "LENGTH", "MESSAGES", "FIRST", "LAST", "GROUPS"].map(style.bold),
      infos.map((s) => {
        const dead = s.stream.endsWith(":dead") && s.length > 0;
        return [
          dead ? style.red(s.stream) : s.stream,
          dead ? style.red(String(s.length)) : String(s.length),
          s.messagesAdded === null ? style.dim("?") : String(s.messagesAdded),
          idCell(s.firstId, style),
          idCell(s.lastId, style),
          String(s.groups.length),
        ];
      }),
      ["left", "right", "right", "left", "left", "right"],
    ));
  }
  const groupRows = infos.flatMap((s) =>
    s.groups.map((g) => [
      s.stream,
      g.name,
      String(g.consumers),
      g.pending > 0 ? style.yellow(String(g.pending)) : String(g.pending),
      g.lag === null ? style.dim("?") : g.lag > 0 ? style.yellow(String(g.lag)) : "0",
      g.lastDeliveredId,
    ])
  );
  if (groupRows.length) {
    lines.push(
      "",
      ...table(
        ["STREAM", "GROUP", "CONSUMERS", "PENDING", "LAG", "LAST DELIVERED"].map(style.bold),
        groupRows,
        ["left", "left", "right", "right", "right", "left"],
      ),
    );
  }
  lines.push("");
  if (!engine.checkpoint && !engine.lastCommandId) {
    lines.push(`engine: ${style.dim("no commands and no checkpoint yet")}`);
  } else if (!engine.checkpoint) {
    lines.push(
      `engine: ${
        style.yellow(`no checkpoint yet; ${engine.behind}${engine.capped ? "+" : ""} commands waiting`)
      }`,
    );
  } else {
    const behind = `${engine.behind}${engine.capped ? "+" : ""} commands behind`;
    const lag = engine.behind > 0 ? style.yellow(behind) : style.green(behind);
    lines.push(
      `engine checkpoint ${engine.checkpoint}: ${lag}${
        engine.behindMs !== null && engine.behind > 0 ? ` (${formatDuration(engine.behindMs)})` : ""
      }`,
    );
  }
  return lines;
}

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  expectPositionals(args, 0, "streams");
  await using redis = await openRedis(ctx);
  const { prefix } = ctx.options;
  const infos: StreamInfo[] = [];
  const packed = await redis.hGetAll(keys.messagesAdded(prefix));
  for (const key of await scanStreams(redis, prefix)) {
    try {
      infos.push(await streamInfo(redis, prefix, key, packed));
    } catch (e) {
      if (!String(e).includes("no such key")) throw e; // deleted between SCAN and XINFO
    }
  }
  const engine = await engineLag(redis, prefix);
  if (ctx.out.json) {
    for (const s of infos) ctx.out.record({ kind: "stream", ...s });
    ctx.out.record({ kind: "engine", ...engine });
  } else ctx.out.lines(formatStreams(infos, engine, ctx.out.style, prefix));
  return 0;
}

export const streamsCommand: Command = {
  name: "streams",
  summary: "list every stream with length, first/last id, consumer groups and lags",
  usage: ["streams [--json]"],
  description: [
    "Scans <prefix>:stream:* for streams and shows, per stream, its length and first/last entry ids and",
    "times; per consumer group, its consumers, pending (delivered, not acknowledged) and lag (not yet",
    "delivered); and how many commands of stream:orders the matching engine's checkpoint is behind.",
  ].join("\n"),
  examples: ["streams", "streams --prefix kalency:v1 --json"],
  options: {},
  run,
};
