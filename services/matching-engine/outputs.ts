/**
 * The batch writer: every output of one batch of commands (replies, executions, order events, wallet
 * events, book deltas, dead letters, read models) and the new checkpoint go to Redis in ONE MULTI/EXEC,
 * so an output exists if and only if its command is marked applied.
 *
 * Each output stream gets one packed entry per batch (`type` "batch", one message a line; see
 * @lib/redis), not one entry per message: an XADD costs Redis about 2 µs whatever its size, and a
 * command produces about six messages, so packing cuts the Redis CPU of a command by about 70 %.
 *
 * `buildBatch` is pure (it returns Redis commands as argument arrays); `commitBatch` sends them.
 * @module
 */
import {
  type EngineReply,
  type Execution,
  keys,
  type OrderAck,
  type OrderEvent,
  REPLY_STREAM_TTL_MS,
  streamKey,
  STREAMS,
} from "@lib/contracts";
import { BATCH_TYPE, type BatchConnection, batchLine, type ExecResult, type RawEntry } from "@lib/redis";
import type { CommandOutput, ReadModelChanges } from "./engine_api.ts";
import { EntryWindow } from "./entry_window.ts";
import type { ConsumerNeed } from "./consumer_need.ts";

/** Entries kept beyond what the consumer groups were last seen to need (they read on meanwhile). */
const CONSUMER_SLACK_ENTRIES = 64;

/** Where the engine keeps the ids of commands whose apply threw, so replays skip them too. */
export function poisonKey(prefix: string): string {
  return `${prefix}:engine:poison`;
}

/** The dead-letter stream of the command stream. */
export function deadLetterKey(prefix: string): string {
  return `${streamKey(prefix, STREAMS.orders)}:dead`;
}

/**
 * The full key of a command's reply stream. `replyTo` is a stream name under the prefix
 * (`replies:<senderId>`, as `replyStream(id).name` gives); the full key is accepted too.
 * Anything else is refused (undefined), so a command cannot make the engine write to another stream.
 */
export function replyKey(prefix: string, replyTo: string): string | undefined {
  const full = replyTo.startsWith(`${prefix}:stream:`) ? replyTo : streamKey(prefix, replyTo);
  const name = full.slice(`${prefix}:stream:`.length);
  return /^replies:[A-Za-z0-9_.:-]{1,100}$/.test(name) ? full : undefined;
}

const CLOSED_STATUSES = new Set(["FILLED", "CANCELED", "EXPIRED", "REJECTED"]);

export interface OutputOptions {
  prefix: string;
  /**
   * Approximate cap, in messages, of executions, order-events, wallet and book streams. Entries are
   * packed, so it becomes a MAXLEN ~ in entries: as many of the newest entries as hold this many.
   */
  streamMaxLen: number;
  /** Approximate cap, in messages, of each reply stream. */
  replyMaxLen: number;
  /** Seconds a closed order's JSON stays readable. */
  closedOrderTtlSeconds: number;
  /** Newest fills kept per user. @default {500} */
  userTradesLimit?: number;
  /** Newest trades kept per symbol. @default {1000} */
  symbolTradesLimit?: number;
  /** Newest orders kept in a user's history. @default {1000} */
  orderHistoryLimit?: number;
  /**
   * A user's fills list and order history are trimmed once they grew by this many entries since the
   * last trim, so they hold up to limit + slack entries; 0 trims at every batch. @default {50}
   */
  trimSlack?: number;
}

/** A command that was not applied: it goes to `<prefix>:stream:orders:dead` with the reason. */
export interface DeadCommand {
  entry: RawEntry;
  reason: string;
  /** Who dead-lettered it and why ("matching-engine/decode", "matching-engine/apply"). */
  source: string;
  /** A rejection for the sender when its reply stream could be read from the entry. */
  reply?: { key: string; reply: EngineReply };
  /** The apply threw: remember the id so that replays skip the command too. */
  poison?: boolean;
}

/** What one batch produced. */
export interface Batch {
  outputs: CommandOutput[];
  dead: DeadCommand[];
  changes: ReadModelChanges;
  /** Id of the last entry of the batch (applied or dead-lettered). */
  checkpoint: string;
  /**
   * Orders created by this batch's place commands. Only they enter the history, and only they are
   * added to the open set (the others are in it already).
   */
  createdOrderIds: ReadonlySet<string>;
}

/** Redis commands as argument arrays. */
export type RedisCommand = string[];

/** Builds the Redis commands of one batch. The last command sets the checkpoint (and returns the old one). */
export class BatchBuilder {
  readonly #o: Required<OutputOptions>;
  readonly #keys: Record<"executions" | "orderEvents" | "wallet" | "book" | "dead" | "poison", string>;
  /** The messages of the entries written lately, per stream key. */
  readonly #windows = new Map<string, EntryWindow>();
  /** What the consumer groups of a stream need kept (see consumer_need.ts), and entries added since. */
  readonly #needs = new Map<string, { need: ConsumerNeed; since: number }>();
  readonly #replyPrefix: string;
  readonly #ttl: string;
  readonly #replyTtl = String(REPLY_STREAM_TTL_MS);
  /** Entries added per user fills list / history since its last trim (trims are amortized). */
  readonly #fillsAdded = new Map<string, number>();
  readonly #historyAdded = new Map<string, number>();

  constructor(options: OutputOptions) {
    this.#replyPrefix = streamKey(options.prefix, "replies:");
    this.#o = {
      userTradesLimit: 500,
      symbolTradesLimit: 1000,
      orderHistoryLimit: 1000,
      trimSlack: 50,
      ...options,
    };
    const p = options.prefix;
    this.#keys = {
      executions: streamKey(p, STREAMS.executions),
      orderEvents: streamKey(p, STREAMS.orderEvents),
      wallet: streamKey(p, STREAMS.wallet),
      book: streamKey(p, STREAMS.book),
      dead: deadLetterKey(p),
      poison: poisonKey(p),
    };
    this.#ttl = String(options.closedOrderTtlSeconds);
  }

  build(batch: Batch): RedisCommand[] {
    const p = this.#o.prefix;
    const k = this.#keys;
    const cmds: RedisCommand[] = [];

    // Fills fan out to per-user and per-symbol lists: one LPUSH per list per batch, oldest first so
    // the newest ends up at the head.
    const userFills = new Map<string, string[]>();
    const symbolTrades = new Map<string, string[]>();
    const push = (m: Map<string, string[]>, key: string, v: string) => {
      const list = m.get(key);
      if (list) list.push(v);
      else m.set(key, [v]);
    };

    // One packed entry per stream; messages in command order, within a command in the order the
    // engine produced them.
    const lines = new Map<string, string[]>();
    // The JSON of each order an event carries: the order read models reuse it (see readModels).
    const orderJsons = new Map<OrderAck, string>();
    const add = (key: string, type: string, json: string) => {
      const l = lines.get(key);
      if (l) l.push(batchLine(type, json));
      else lines.set(key, [batchLine(type, json)]);
    };
    for (const out of batch.outputs) {
      for (const e of out.executions) {
        const json = JSON.stringify(e);
        add(k.executions, "execution", json);
        pushFill(e, json);
      }
      for (const ev of out.orderEvents) {
        const orderJson = JSON.stringify(ev.order);
        orderJsons.set(ev.order, orderJson);
        add(k.orderEvents, ev.event, orderEventJson(ev, orderJson));
      }
      for (const w of out.walletEvents) add(k.wallet, w.reason, JSON.stringify(w));
      for (const d of out.bookDeltas) add(k.book, "delta", JSON.stringify(d));
      if (out.replyTo) {
        const key = replyKey(p, out.replyTo);
        if (key) add(key, out.reply.ok ? "ok" : "rejected", JSON.stringify(out.reply));
      }
    }
    for (const d of batch.dead) {
      if (d.reply) add(d.reply.key, "rejected", JSON.stringify(d.reply.reply));
    }
    const counts = keys.messagesAdded(p);
    const streamsAt = p.length + ":stream:".length;
    for (const [key, l] of lines) {
      const reply = key.startsWith(this.#replyPrefix);
      const cap = reply ? this.#o.replyMaxLen : this.#o.streamMaxLen;
      const maxLen = this.#keep(key, this.#entryCap(key, l.length, cap));
      const trim = maxLen === undefined ? [] : ["MAXLEN", "~", String(maxLen)];
      cmds.push(["XADD", key, ...trim, "*", "type", BATCH_TYPE, "payload", l.join("\n")]);
      // a reply stream its sender deleted (or that expired) is created again by this XADD: it must
      // expire again, or the stream of a sender that is gone stays for good
      if (reply) cmds.push(["PEXPIRE", key, this.#replyTtl]);
      else cmds.push(["HINCRBY", counts, key.slice(streamsAt), String(l.length)]);
    }
    function pushFill(e: Execution, json: string) {
      push(userFills, e.makerUserId, json);
      if (e.takerUserId !== e.makerUserId) push(userFills, e.takerUserId, json);
      push(symbolTrades, e.symbol, json);
    }

    for (const d of batch.dead) {
      // same fields as deadLetter() in @lib/redis, queued here so the skip commits with the batch
      cmds.push([
        "XADD",
        k.dead,
        "MAXLEN",
        "~",
        String(this.#o.streamMaxLen),
        "*",
        "reason",
        d.reason,
        "source",
        d.source,
        "originalId",
        d.entry.id,
        "original",
        JSON.stringify(d.entry.message),
      ]);
      if (d.poison) cmds.push(["SADD", k.poison, d.entry.id]);
    }

    for (const [userId, list] of userFills) {
      const key = keys.userTrades(p, userId);
      cmds.push(["LPUSH", key, ...list]);
      if (this.#due(this.#fillsAdded, userId, list.length)) {
        cmds.push(["LTRIM", key, "0", String(this.#o.userTradesLimit - 1)]);
      }
    }
    for (const [symbol, list] of symbolTrades) {
      const key = keys.trades(p, symbol);
      cmds.push(["LPUSH", key, ...list]);
      cmds.push(["LTRIM", key, "0", String(this.#o.symbolTradesLimit - 1)]);
    }
    cmds.push(...this.readModels(batch.changes, batch.createdOrderIds, orderJsons));
    cmds.push(["SET", keys.checkpoint(p), batch.checkpoint, "GET"]);
    return cmds;
  }

  /** MAXLEN (in entries) that keeps the newest `cap` messages of a stream (see entry_window.ts). */
  #entryCap(key: string, messages: number, cap: number): number | undefined {
    let window = this.#windows.get(key);
    if (!window) {
      if (this.#windows.size > 10_000) this.#windows.clear(); // reply streams come and go
      this.#windows.set(key, window = new EntryWindow(cap));
    }
    return window.add(messages);
  }

  /**
   * Tells how many newest entries of a stream its consumer groups need (read a moment ago), or that
   * they need all of it (nothing is trimmed then), or undefined: no groups.
   */
  setConsumerNeed(key: string, need: ConsumerNeed | undefined): void {
    if (need === undefined) this.#needs.delete(key);
    else this.#needs.set(key, { need, since: 0 });
  }

  /**
   * The MAXLEN of an entry about to be added: the cap's, raised to what the consumers need (plus the
   * entries added since that was read, and some slack); undefined to trim nothing.
   */
  #keep(key: string, capEntries: number | undefined): number | undefined {
    const n = this.#needs.get(key);
    if (n) n.since++;
    if (!n || capEntries === undefined) return capEntries;
    if (n.need === "all") return undefined;
    return Math.max(capEntries, n.need + n.since + CONSUMER_SLACK_ENTRIES);
  }

  /** True when a list grew enough since its last trim; counts the growth otherwise. */
  #due(added: Map<string, number>, key: string, by: number): boolean {
    const n = (added.get(key) ?? 0) + by;
    if (n < this.#o.trimSlack) {
      added.set(key, n);
      return false;
    }
    added.delete(key);
    return true;
  }

  /**
   * The read-model writes for a set of changes (also used alone, for the initial markets).
   * `created`: the orders new in this batch (see {@linkcode Batch.createdOrderIds}). `jsonOf`: JSON
   * already made of some of the orders (the engine hands out the same object for an order's latest
   * event and its read model).
   */
  readModels(
    changes: ReadModelChanges,
    created: ReadonlySet<string> = new Set(),
    jsonOf: ReadonlyMap<OrderAck, string> = new Map(),
  ): RedisCommand[] {
    const p = this.#o.prefix;
    const cmds: RedisCommand[] = [];
    if (changes.wallets.length) {
      const args = ["HSET", keys.wallets(p)];
      for (const w of changes.wallets) args.push(w.userId, JSON.stringify(w));
      cmds.push(args);
    }
    if (changes.markets.length) {
      const args = ["HSET", keys.markets(p)];
      for (const m of changes.markets) args.push(m.symbol, JSON.stringify(m));
      cmds.push(args);
    }
    for (const b of changes.books) cmds.push(["SET", keys.book(p, b.symbol), JSON.stringify(b)]);

    // per user: one ZADD for new open orders, one ZREM for closed ones, one ZADD (+ an amortized
    // trim) for the history
    const closedIds = new Set(changes.closedOrderIds);
    const perUser = new Map<
      string,
      { open: string[]; closed: string[]; history: string[] }
    >();
    const written = new Set<string>();
    for (const o of changes.orders) {
      let u = perUser.get(o.userId);
      if (!u) perUser.set(o.userId, u = { open: [], closed: [], history: [] });
      const closed = isClosed(o) || closedIds.has(o.orderId);
      const isNew = created.has(o.orderId);
      const key = keys.order(p, o.orderId);
      const json = jsonOf.get(o) ?? JSON.stringify(o);
      cmds.push(closed ? ["SET", key, json, "EX", this.#ttl] : ["SET", key, json]);
      written.add(o.orderId);
      const score = String(o.createdAt);
      if (closed) {
        if (!isNew) u.closed.push(o.orderId);
      } else if (isNew) u.open.push(score, o.orderId);
      if (isNew) u.history.push(score, o.orderId);
    }
    // an order that left the book without a new state in this batch only needs its TTL
    for (const id of changes.closedOrderIds) {
      if (!written.has(id)) cmds.push(["EXPIRE", keys.order(p, id), this.#ttl]);
    }
    const keep = String(-this.#o.orderHistoryLimit - 1);
    for (const [userId, u] of perUser) {
      if (u.open.length) cmds.push(["ZADD", keys.openOrders(p, userId), ...u.open]);
      if (u.closed.length) cmds.push(["ZREM", keys.openOrders(p, userId), ...u.closed]);
      if (u.history.length) {
        const history = keys.orderHistory(p, userId);
        cmds.push(["ZADD", history, ...u.history]);
        if (this.#due(this.#historyAdded, userId, u.history.length / 2)) {
          cmds.push(["ZREMRANGEBYRANK", history, "0", keep]);
        }
      }
    }
    return cmds;
  }
}

/**
 * `JSON.stringify(ev)` for an order event whose order is already JSON: the same text, key for key
 * (event, order, tradeId when present, ts), without serializing the order a second time.
 */
export function orderEventJson(ev: OrderEvent, orderJson: string): string {
  const tradeId = ev.tradeId === undefined ? "" : `,"tradeId":${JSON.stringify(ev.tradeId)}`;
  return `{"event":"${ev.event}","order":${orderJson}${tradeId},"ts":${JSON.stringify(ev.ts)}}`;
}

function isClosed(o: OrderAck): boolean {
  return CLOSED_STATUSES.has(o.status);
}

/** Thrown when the checkpoint found in Redis is not the one this process wrote last: another writer. */
export class CheckpointConflictError extends Error {
  constructor(readonly expected: string | null, readonly found: string | null) {
    super(
      found === null && expected !== null
        // nothing else deletes the checkpoint: Redis lost its data (restarted without persistence,
        // or flushed), and with it the state this engine's snapshots and read models kept
        ? `Cannot continue: the checkpoint this engine last wrote (${expected}) is gone; Redis lost its ` +
          "data (restarted without persistence, or flushed?). A restart begins from what Redis holds now"
        : `Cannot continue: the checkpoint was ${found ?? "(unset)"} but this engine last wrote ${
          expected ?? "(unset)"
        }; another engine is writing under the same prefix`,
    );
    this.name = "CheckpointConflictError";
  }
}

/**
 * Sends one batch as MULTI/EXEC. `previous` is the checkpoint this process expects to replace; the
 * SET ... GET at the end of the transaction reports the real one, so a second engine writing under
 * the same prefix is detected at its first batch. Returns the replies that were errors (the
 * transaction ran, Redis does not roll back; the caller logs them).
 */
export async function commitBatch(
  conn: BatchConnection,
  commands: RedisCommand[],
  previous: string | null,
): Promise<ExecResult["errors"]> {
  const result = await conn.exec(commands);
  if (result.last !== previous) throw new CheckpointConflictError(previous, result.last);
  return result.errors;
}
