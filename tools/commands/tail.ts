/**
 * `tools tail <stream>`: prints a stream's entries, one line each, live from now, from an id, from a
 * time, or the last N; filtered by symbol, user or type.
 * @module
 */
import { SYMBOL_REGEXP } from "@lib/contracts";
import { expandEntries, followStream, type RawEntry, type RedisClient } from "@lib/redis";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  intOption,
  knownMarkets,
  openRedis,
  type ParsedArgs,
  stringOption,
  UsageError,
} from "../command.ts";
import { idBefore, normalizeStreamId, parseSince } from "../format.ts";
import {
  type EntryFilter,
  entryRecord,
  formatEntry,
  matchesFilter,
  type ResolvedStream,
  resolveStream,
  showEntry,
  type ShownEntry,
  streamNames,
} from "./entries.ts";

const PAGE = 1000;

/** Where reading starts: live, after an exclusive cursor, or the last N entries. */
export type TailStart = { kind: "live" } | { kind: "after"; cursor: string } | {
  kind: "last";
  count: number;
};

/** Works out the start from --from/--since/--count. */
export function tailStart(args: ParsedArgs, now: number): TailStart {
  const from = stringOption(args, "from");
  const since = stringOption(args, "since");
  if (from !== undefined && since !== undefined) throw new UsageError("give --from or --since, not both");
  if (from !== undefined) {
    if (from === "0" || from === "-") return { kind: "after", cursor: "0-0" };
    if (from === "$") return { kind: "live" };
    const id = normalizeStreamId(from);
    if (!id) throw new UsageError(`--from must be a stream id like 1764118000000-0, got "${from}"`);
    return { kind: "after", cursor: idBefore(id) };
  }
  if (since !== undefined) {
    const ms = parseSince(since, now);
    if (ms === undefined) {
      throw new UsageError(
        `--since must be a duration like 5m, 90s, 2h or an RFC 3339 time with its zone ` +
          `(2026-11-26T13:45:00Z or +01:00), got "${since}"`,
      );
    }
    return { kind: "after", cursor: idBefore(`${Math.max(0, Math.floor(ms))}-0`) };
  }
  const count = args.values.count;
  if (count !== undefined) return { kind: "last", count: intOption(args, "count", 10, { max: 1_000_000 }) };
  return { kind: "live" };
}

/** Reads the last `count` entries that pass the filter, oldest first, paging backwards. */
export async function readLast(
  redis: RedisClient,
  stream: ResolvedStream,
  count: number,
  filter: EntryFilter,
  /** Collects the type of every message looked at. */
  types?: Set<string>,
): Promise<ShownEntry[]> {
  const found: ShownEntry[] = [];
  let end = "+";
  while (found.length < count) {
    const page = (await redis.xRevRange(stream.key, end, "-", { COUNT: PAGE })) as RawEntry[];
    scan: for (const e of page) {
      // a packed entry's messages, newest first like the entries around them
      const messages = expandEntries([e]);
      for (let i = messages.length - 1; i >= 0; i--) {
        const shown = showEntry(stream, messages[i]);
        types?.add(shown.type);
        if (matchesFilter(shown, filter)) found.push(shown);
        if (found.length === count) break scan;
      }
    }
    if (page.length < PAGE) break;
    end = `(${page[page.length - 1].id}`;
  }
  return found.reverse();
}

/** Reads entries after `cursor` up to the stream's end at call time, page by page. */
export async function* readAfter(
  redis: RedisClient,
  key: string,
  cursor: string,
): AsyncGenerator<RawEntry[]> {
  let from = cursor;
  while (true) {
    const page = (await redis.xRange(key, `(${from}`, "+", { COUNT: PAGE })) as RawEntry[];
    if (page.length) yield expandEntries(page);
    if (page.length < PAGE) return;
    from = page[page.length - 1].id;
  }
}

function filterFrom(args: ParsedArgs): EntryFilter {
  // symbols are upper case on every stream: "btc-usd" means BTC-USD, and a malformed one would
  // silently match nothing
  const symbol = stringOption(args, "symbol")?.toUpperCase();
  if (symbol !== undefined && !SYMBOL_REGEXP.test(symbol)) {
    throw new UsageError(`--symbol must be BASE-QUOTE, e.g. BTC-USD, got "${symbol}"`);
  }
  return {
    symbol,
    user: stringOption(args, "user"),
    type: stringOption(args, "type"),
  };
}

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const usage = "tail <stream> [options]";
  expectPositionals(args, 1, usage);
  const name = args.positionals[0];
  if (!name) throw new UsageError(`name a stream: ${streamNames().join(", ")}`);
  const stream = resolveStream(ctx.options.prefix, name);
  const start = tailStart(args, ctx.now());
  const filter = filterFrom(args);
  // with --from/--since (or --from $), --count ends the output after that many entries
  const limit = start.kind !== "last" && args.values.count !== undefined
    ? intOption(args, "count", 10, { max: 1_000_000 })
    : Infinity;
  if (start.kind === "live" && args.values.follow === false) {
    throw new UsageError(
      args.values.from === "$"
        ? "--from $ with --no-follow prints nothing: $ means only what is added from now on"
        : "--no-follow needs --from, --since or --count: without them tail prints only what is added from now on",
    );
  }
  const follow = start.kind === "live" || (start.kind === "after" && args.values.follow !== false);
  await using redis = await openRedis(ctx, { follow });
  const { out } = ctx;
  if (filter.symbol !== undefined) {
    // a symbol no market has would match nothing and print nothing: say so instead
    const markets = await knownMarkets(redis, ctx.options.prefix);
    if (markets.length && !markets.includes(filter.symbol)) {
      throw new UsageError(`unknown market ${filter.symbol}; markets: ${markets.join(", ")}`);
    }
  }
  let printed = 0;
  const print = (e: ShownEntry) => {
    out.record(entryRecord(e), formatEntry(e, out.style));
    printed++;
  };

  if (start.kind === "last") {
    const types = new Set<string>();
    for (const e of await readLast(redis, stream, start.count, filter, types)) print(e);
    if (printed === 0 && !(await redis.exists(stream.key))) {
      out.error(`${stream.key} does not exist: nothing was ever written to it (see: streams)`);
      return 1;
    }
    if (printed === 0 && filter.type !== undefined && types.size > 0) {
      // the whole stream was read: a type it never holds is most likely a typo
      out.error(
        `no entry of type ${filter.type} on ${stream.key}; its types: ${[...types].sort().join(", ")}`,
      );
    }
    return 0;
  }
  let cursor: string;
  if (start.kind === "after") {
    cursor = start.cursor;
    for await (const page of readAfter(redis, stream.key, cursor)) {
      for (const raw of page) {
        const e = showEntry(stream, raw);
        if (matchesFilter(e, filter)) print(e);
        if (printed >= limit) return 0;
      }
      cursor = page[page.length - 1].id;
      if (ctx.signal.aborted) return 0;
    }
    if (!follow) return 0;
  } else {
    const last = (await redis.xRevRange(stream.key, "+", "-", { COUNT: 1 })) as RawEntry[];
    cursor = last[0]?.id ?? "0-0";
  }
  if (out.tty && !out.json) out.error(out.style.dim(`following ${stream.key} (Ctrl-C to stop)`));
  for await (
    const page of followStream(redis, stream.key, { signal: ctx.signal, fromId: cursor, blockMs: 500 })
  ) {
    for (const raw of page) {
      const e = showEntry(stream, raw);
      if (matchesFilter(e, filter)) print(e);
      if (printed >= limit) return 0;
    }
  }
  return 0;
}

export const tailCommand: Command = {
  name: "tail",
  summary: "print a stream's entries live, from an id or time, or the last N",
  usage: [
    "tail <stream> [--symbol S] [--user U] [--type T]",
    "tail <stream> --from ID | --since 5m|RFC3339 [--count N] [--no-follow]",
    "tail <stream> --count N",
  ],
  description: [
    `Streams: ${streamNames().join(", ")}.`,
    "Without --from/--since/--count it follows new entries until Ctrl-C. --from/--since print from that",
    "point (the id itself included) and then follow, unless --no-follow is given (--from $: only new",
    "entries). With them, --count N exits after N entries, waiting for new ones if needed; --count alone",
    "prints the last N entries (after filtering) and exits. Entries that do not match their contract are",
    "printed as undecodable with the reason.",
  ].join("\n"),
  examples: [
    "tail executions",
    "tail executions --symbol BTC-USD --since 10m",
    "tail orders --user usr_0123 --count 20",
    "tail orders:dead --json",
  ],
  options: {
    from: { type: "string", value: "ID", description: "start at this stream id (0: the beginning)" },
    since: { type: "string", value: "TIME", description: "start at a time: 5m, 2h, 1d back, or RFC 3339" },
    count: { type: "string", value: "N", description: "print N entries then exit (alone: the last N)" },
    follow: { type: "boolean", description: "keep following after history (--no-follow: stop at the end)" },
    symbol: { type: "string", value: "S", description: "only entries about this symbol (BTC-USD)" },
    user: { type: "string", value: "U", description: "only entries about this user id" },
    type: {
      type: "string",
      value: "T",
      description: "only entries of this type (place, execution, TRADE, ...)",
    },
  },
  run,
};
