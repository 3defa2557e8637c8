/**
 * `tools dead`: lists dead-letter entries (why, from where, what), and `tools dead requeue` puts them
 * back on their source stream.
 * @module
 */
import type { RawEntry, RedisClient } from "@lib/redis";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  flag,
  intOption,
  openRedis,
  type ParsedArgs,
  UsageError,
} from "../command.ts";
import { excerpt, formatClock, idMs, normalizeStreamId } from "../format.ts";
import { type DeadLetter, readDeadLetter, type ResolvedStream, resolveStream } from "./entries.ts";
import { scanStreams } from "./streams.ts";

/** A dead letter with where it sits. */
export interface DeadEntry extends DeadLetter {
  stream: string;
  deadId: string;
  time: string;
}

/** The dead stream of a name given as "orders" or "orders:dead". */
export function deadStreamOf(prefix: string, name: string): { dead: ResolvedStream; source: ResolvedStream } {
  const base = name.endsWith(":dead") ? name.slice(0, -":dead".length) : name;
  return { dead: resolveStream(prefix, `${base}:dead`), source: resolveStream(prefix, base) };
}

/** The payload of an original entry, shortened for one line. */
export function originalExcerpt(original: DeadLetter["original"], max = 100): string {
  if (typeof original === "string") return excerpt(original, max);
  const text = original.payload ?? JSON.stringify(original);
  return excerpt(text, max);
}

function toDeadEntry(stream: string, e: RawEntry): DeadEntry {
  return { stream, deadId: e.id, time: new Date(idMs(e.id)).toISOString(), ...readDeadLetter(e) };
}

/** The newest `count` dead letters of a dead stream, oldest first. */
export async function readDead(
  redis: RedisClient,
  dead: ResolvedStream,
  count: number,
): Promise<DeadEntry[]> {
  const entries = (await redis.xRevRange(dead.key, "+", "-", { COUNT: count })) as RawEntry[];
  return entries.reverse().map((e) => toDeadEntry(dead.name, e));
}

/** Text lines of one dead letter. */
export function formatDead(d: DeadEntry, style: CommandContext["out"]["style"]): string[] {
  const type = typeof d.original === "string" ? "?" : d.original.type ?? "?";
  return [
    `  ${d.deadId} ${style.dim(formatClock(idMs(d.deadId)))} ${
      style.magenta(type)
    } original=${d.originalId} ${style.dim(`source=${d.source}`)}`,
    `    ${style.red("reason:")} ${excerpt(d.reason, 200)}`,
    `    ${style.dim("payload:")} ${originalExcerpt(d.original)}`,
  ];
}

async function list(
  ctx: CommandContext,
  redis: RedisClient,
  names: string[],
  count: number,
): Promise<number> {
  const { out } = ctx;
  let total = 0;
  for (const name of names) {
    const { dead } = deadStreamOf(ctx.options.prefix, name);
    const length = await redis.xLen(dead.key);
    total += length;
    const entries = length ? await readDead(redis, dead, count) : [];
    if (out.json) {
      for (const d of entries) out.record({ kind: "dead", ...d });
      continue;
    }
    const shown = entries.length < length ? ` (newest ${entries.length} shown)` : "";
    out.line(
      `${length ? out.style.red(dead.name) : dead.name}: ${length} entr${length === 1 ? "y" : "ies"}${shown}`,
    );
    for (const d of entries) out.lines(formatDead(d, out.style));
  }
  if (!out.json && names.length === 0) {
    out.line(out.style.green("no dead-letter streams: nothing was dead-lettered"));
  }
  return 0;
}

/** The result of requeueing one dead letter. */
export interface RequeueResult {
  deadId: string;
  originalId: string;
  /** Id of the re-added entry on the source stream; absent when skipped. */
  newId?: string;
  /** Another dead letter of the same entry was requeued as this id; this one was only removed. */
  sameAs?: string;
  skipped?: string;
}

/**
 * Re-adds the original fields of the selected dead letters to the source stream and deletes them from
 * the dead stream, each in one MULTI so an entry is never both requeued and still dead. `ids` match
 * either the dead entry's id or the original id; undefined selects all.
 */
export async function requeue(
  redis: RedisClient,
  prefix: string,
  name: string,
  ids: string[] | undefined,
): Promise<RequeueResult[]> {
  const { dead, source } = deadStreamOf(prefix, name);
  const wanted = ids ? new Set(ids) : undefined;
  const results: RequeueResult[] = [];
  const matched = new Set<string>();
  // an entry several consumer groups refused has a dead letter per group: it goes back once
  const requeued = new Map<string, string>();
  let from = "-";
  while (true) {
    const page = (await redis.xRange(dead.key, from, "+", { COUNT: 500 })) as RawEntry[];
    for (const e of page) {
      const d = readDeadLetter(e);
      if (wanted && !wanted.has(e.id) && !wanted.has(d.originalId)) continue;
      matched.add(e.id).add(d.originalId);
      if (typeof d.original === "string" || Object.keys(d.original).length === 0) {
        results.push({
          deadId: e.id,
          originalId: d.originalId,
          skipped: "the original fields are not readable JSON",
        });
        continue;
      }
      const again = requeued.get(d.originalId);
      if (again !== undefined) {
        await redis.xDel(dead.key, e.id);
        results.push({ deadId: e.id, originalId: d.originalId, sameAs: again });
        continue;
      }
      const [newId] = await redis.multi().xAdd(source.key, "*", d.original).xDel(dead.key, e.id)
        .exec() as unknown as [
          string,
          number,
        ];
      requeued.set(d.originalId, String(newId));
      results.push({ deadId: e.id, originalId: d.originalId, newId: String(newId) });
    }
    if (page.length < 500) break;
    from = `(${page[page.length - 1].id}`;
  }
  for (const id of wanted ?? []) {
    if (!matched.has(id)) {
      results.push({ deadId: id, originalId: "", skipped: `no dead letter with id ${id}` });
    }
  }
  return results;
}

async function runRequeue(ctx: CommandContext, redis: RedisClient, args: ParsedArgs): Promise<number> {
  const usage = "dead requeue <stream> --id ID | --all";
  expectPositionals(args, 2, usage);
  const name = args.positionals[1];
  if (!name) throw new UsageError(`name the stream to requeue into; usage: ${usage}`);
  const rawIds = (args.values.id as string[] | undefined) ?? [];
  const all = flag(args, "all");
  if (all === (rawIds.length > 0)) {
    throw new UsageError(`give --id ID (repeatable) or --all; usage: ${usage}`);
  }
  const ids = rawIds.map((raw) => {
    const id = normalizeStreamId(raw);
    if (!id) throw new UsageError(`--id must be a stream id like 1764118000000-0, got "${raw}"`);
    return id;
  });
  const { source } = deadStreamOf(ctx.options.prefix, name);
  const results = await requeue(redis, ctx.options.prefix, name, all ? undefined : ids);
  const { out } = ctx;
  for (const r of results) {
    out.record(
      { kind: "requeue", stream: source.name, ...r },
      r.newId
        ? `requeued ${r.deadId} (original ${r.originalId}) to ${source.name} as ${out.style.green(r.newId)}`
        : r.sameAs
        ? `removed ${r.deadId}: another group's dead letter of ${r.originalId}, requeued once as ${r.sameAs}`
        : `${out.style.yellow("skipped")} ${r.deadId}: ${r.skipped}`,
    );
  }
  const done = results.filter((r) => r.newId).length;
  const same = results.filter((r) => r.sameAs).length;
  out.line(
    `${done} requeued, ${results.length - done - same} skipped${
      same ? `, ${same} duplicate(s) removed` : ""
    }`,
  );
  return results.some((r) => r.skipped) ? 1 : 0;
}

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  await using redis = await openRedis(ctx);
  if (args.positionals[0] === "requeue") return await runRequeue(ctx, redis, args);
  expectPositionals(args, 1, "dead [stream]");
  const count = intOption(args, "count", 20, { max: 100_000 });
  const names = args.positionals[0] !== undefined
    ? [args.positionals[0]]
    : (await scanStreams(redis, ctx.options.prefix))
      .map((k) => k.slice(`${ctx.options.prefix}:stream:`.length))
      .filter((n) => n.endsWith(":dead"));
  return await list(ctx, redis, names, count);
}

export const deadCommand: Command = {
  name: "dead",
  summary: "list dead-letter entries, or requeue them to their stream",
  usage: [
    "dead [stream] [--count N]",
    "dead requeue <stream> --id ID [--id ID ...]",
    "dead requeue <stream> --all",
  ],
  description: [
    "A consumer that cannot decode or handle an entry copies it to <stream>:dead with the reason, where",
    "it came from (group/consumer) and its original id and fields. `dead` lists them (every dead stream,",
    "or one); `dead requeue` re-adds the original fields to the source stream (as a new entry) and",
    "deletes them from the dead stream. --id matches the dead entry's id or the original id.",
  ].join("\n"),
  examples: [
    "dead",
    "dead orders --count 5",
    "dead requeue executions --id 1764118000000-0",
    "dead requeue orders --all",
  ],
  options: {
    count: { type: "string", value: "N", description: "newest N entries per stream (default 20)" },
    id: { type: "string", value: "ID", multiple: true, description: "requeue this entry" },
    all: { type: "boolean", description: "requeue every entry of the stream" },
  },
  run,
};
