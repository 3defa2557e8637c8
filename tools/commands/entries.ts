/**
 * Stream entries as the tools show them: resolving a stream's short name, decoding an entry (or a
 * dead letter) through its contract, one pretty line per entry, and the symbol/user filters.
 * @module
 */
import {
  type BookDelta,
  type Candle,
  type EngineCommand,
  type EngineReply,
  type Execution,
  type OrderAck,
  type OrderEvent,
  streamByName,
  type StreamDef,
  streamKey,
  STREAMS,
  type Tick,
  type WalletEvent,
} from "@lib/contracts";
import { decodeEntry, type RawEntry } from "@lib/redis";
import { excerpt, formatClock, idMs, type Style } from "../format.ts";
import { UsageError } from "../command.ts";

/** A stream the user named on the command line. */
export interface ResolvedStream {
  /** Short name as typed, normalised ("executions", "orders:dead"). */
  name: string;
  /** Full Redis key. */
  key: string;
  /** Contract of the entries (for a dead stream: of the original entries). */
  def: StreamDef;
  /** True for `<name>:dead`. */
  dead: boolean;
}

/** The short names `tail` accepts, for error messages and help. */
export function streamNames(): string[] {
  return [...Object.values(STREAMS).map((s) => s.name), "replies:<id>", "<name>:dead"];
}

/** Resolves "executions", "orderEvents", "replies:gw-1", "orders:dead" to a key and a contract. */
export function resolveStream(prefix: string, input: string): ResolvedStream {
  let name = input.trim();
  const dead = name.endsWith(":dead");
  if (dead) name = name.slice(0, -":dead".length);
  const byKey = (STREAMS as Record<string, StreamDef>)[name];
  const def = byKey ?? streamByName(name);
  if (!def || (name.startsWith("replies:") && name.length === "replies:".length)) {
    throw new UsageError(`unknown stream "${input}"; streams: ${streamNames().join(", ")}`);
  }
  const full = dead ? `${def.name}:dead` : def.name;
  return { name: full, key: streamKey(prefix, full), def, dead };
}

/** A dead letter's fields, as `consumeGroup` writes them. */
export interface DeadLetter {
  reason: string;
  source: string;
  originalId: string;
  /** The original entry's fields (`type`, `payload`), or the raw text when it is not JSON. */
  original: Record<string, string> | string;
}

/** An entry decoded for display. */
export interface ShownEntry {
  stream: string;
  id: string;
  /** Position of the message inside a packed entry (the engine's outputs); absent otherwise. */
  index?: number;
  /** Milliseconds part of the id: when the entry was written. */
  ts: number;
  type: string;
  /** The decoded message (contract output), when it decodes. */
  value?: unknown;
  /** The payload as JSON, when it does not decode but is JSON. */
  raw?: unknown;
  /** Why it does not decode. */
  invalid?: string;
  dead?: DeadLetter;
}

/** Reads the dead-letter fields of a dead stream's entry. */
export function readDeadLetter(entry: RawEntry): DeadLetter {
  const m = entry.message;
  let original: DeadLetter["original"] = m.original ?? "";
  try {
    const parsed = JSON.parse(m.original ?? "");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      original = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    }
  } catch {
    // keep the raw text: it is what the consumer saw
  }
  return { reason: m.reason ?? "", source: m.source ?? "", originalId: m.originalId ?? "", original };
}

/** Decodes one raw entry of a resolved stream for display. */
export function showEntry(stream: ResolvedStream, entry: RawEntry): ShownEntry {
  const base = {
    stream: stream.name,
    id: entry.id,
    ...(entry.index !== undefined ? { index: entry.index } : {}),
    ts: idMs(entry.id),
  };
  let fields = entry.message;
  let dead: DeadLetter | undefined;
  if (stream.dead) {
    dead = readDeadLetter(entry);
    fields = typeof dead.original === "string" ? { payload: dead.original } : dead.original;
  }
  const decoded = decodeEntry(stream.def, { id: entry.id, message: fields });
  if (decoded.ok) {
    return {
      ...base,
      type: stream.def.entryType(decoded.value),
      value: decoded.value,
      ...(dead ? { dead } : {}),
    };
  }
  let raw: unknown;
  try {
    raw = fields.payload === undefined ? fields : JSON.parse(fields.payload);
  } catch {
    raw = fields.payload;
  }
  return { ...base, type: fields.type ?? "?", raw, invalid: decoded.reason, ...(dead ? { dead } : {}) };
}

/** Filters `tail` and `dead` apply. */
export interface EntryFilter {
  symbol?: string;
  user?: string;
  type?: string;
}

function collectRefs(value: unknown, symbols: Set<string>, users: Set<string>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== "object") return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === "string") {
      if (k === "symbol") symbols.add(v);
      else if (k === "userId" || k.endsWith("UserId")) users.add(v);
    } else if (typeof v === "object") collectRefs(v, symbols, users, depth + 1);
  }
}

/** True when the entry mentions the filter's symbol and user (anywhere in its message) and type. */
export function matchesFilter(entry: ShownEntry, filter: EntryFilter): boolean {
  if (filter.type && entry.type.toLowerCase() !== filter.type.toLowerCase()) return false;
  if (!filter.symbol && !filter.user) return true;
  const symbols = new Set<string>();
  const users = new Set<string>();
  collectRefs(entry.value ?? entry.raw, symbols, users);
  if (filter.symbol && !symbols.has(filter.symbol.toUpperCase())) return false;
  if (filter.user && !users.has(filter.user)) return false;
  return true;
}

function side(s: string, style: Style): string {
  return s === "BUY" ? style.green(s) : s === "SELL" ? style.red(s) : s;
}

function signed(s: string, style: Style): string {
  if (s.startsWith("-")) return style.red(s);
  return s === "0" ? style.dim("0") : style.green(`+${s}`);
}

function ack(o: OrderAck, style: Style): string {
  const price = o.price ? ` @ ${o.price}` : "";
  return `${o.orderId} ${o.symbol} ${
    side(o.side, style)
  } ${o.type} ${o.qty}${price} filled ${o.filledQty} ${o.status} user=${o.userId}`;
}

function describeCommand(c: EngineCommand, style: Style): string {
  switch (c.type) {
    case "place": {
      const amount = c.qty ?? (c.quoteQty ? `quote ${c.quoteQty}` : "?");
      const price = c.price ? ` @ ${c.price}` : "";
      const extra = [c.timeInForce !== "GTC" ? c.timeInForce : "", c.postOnly ? "postOnly" : ""].filter(
        Boolean,
      );
      return `${c.symbol} ${side(c.side, style)} ${c.orderType} ${amount}${price}${
        extra.length ? " " + extra.join(" ") : ""
      } user=${c.userId}${c.clientOrderId ? ` cid=${c.clientOrderId}` : ""}`;
    }
    case "cancel":
      return `user=${c.userId}${c.symbol ? ` ${c.symbol}` : ""}${c.orderId ? ` order=${c.orderId}` : ""}${
        c.clientOrderId ? ` cid=${c.clientOrderId}` : ""
      }`;
    case "cancelAll":
      return `${c.symbol} user=${c.userId}`;
    case "openAccount":
      return `user=${c.userId}`;
    case "deposit":
      return `user=${c.userId} ${c.amount} ${c.asset}`;
    case "setMarketStatus":
      return `${c.symbol} ${c.status}`;
    case "addMarket":
      return `${c.market.symbol} tick=${c.market.tickSize} step=${c.market.stepSize} start=${c.market.startPrice}`;
  }
}

function levels(ls: [string, string][]): string {
  return ls.length ? ls.map(([p, q]) => `${p}x${q}`).join(" ") : "-";
}

/** The part of a line after time and type: the key fields of a message of a known stream. */
export function describeMessage(streamName: string, value: unknown, style: Style): string {
  const base = streamName.startsWith("replies:") ? "replies" : streamName;
  switch (base) {
    case "orders": {
      const c = value as EngineCommand;
      return `${describeCommand(c, style)} ${style.dim(`cmd=${c.cmdId}`)}`;
    }
    case "executions": {
      const e = value as Execution;
      return `${e.symbol} ${e.qty} @ ${e.price} buyer=${e.buyerUserId} seller=${e.sellerUserId} taker=${
        side(e.takerSide, style)
      } ${style.dim(e.tradeId)}`;
    }
    case "order-events": {
      const e = value as OrderEvent;
      return ack(e.order, style) + (e.tradeId ? ` ${style.dim(e.tradeId)}` : "") +
        (e.order.expireReason ? ` (${e.order.expireReason})` : "");
    }
    case "wallet": {
      const w = value as WalletEvent;
      return `user=${w.userId} ${w.asset} free ${signed(w.freeDelta, style)} (=${w.free}) locked ${
        signed(w.lockedDelta, style)
      } (=${w.locked})${w.ref ? ` ${style.dim(`ref=${w.ref}`)}` : ""}`;
    }
    case "book": {
      const b = value as BookDelta;
      return `${b.symbol} #${b.seq} bids ${levels(b.bids)} asks ${levels(b.asks)}`;
    }
    case "ticks": {
      const t = value as Tick;
      return `${t.symbol} ${t.price} delta ${t.delta} vol ${t.volume}${
        t.regime ? ` regime=${t.regime}` : ""
      }`;
    }
    case "candles": {
      const c = value as Candle;
      return `${c.symbol} ${
        formatClock(c.openTime)
      } O ${c.open} H ${c.high} L ${c.low} C ${c.close} V ${c.volume} n=${c.trades}${
        c.closed ? " closed" : ""
      }${c.source === "index" ? " (index: from ticks)" : ""}`;
    }
    case "sim-control": {
      const { action: _a, ts: _t, ...rest } = value as Record<string, unknown>;
      return Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(" ");
    }
    case "replies": {
      const r = value as EngineReply;
      if (!r.ok) return `${style.red(r.reason)}: ${r.message} ${style.dim(`cmd=${r.cmdId}`)}`;
      const parts: string[] = [];
      if (r.order) parts.push(ack(r.order, style));
      if (r.orders) parts.push(`${r.orders.length} orders`);
      if (r.wallet) {
        parts.push(
          `user=${r.wallet.userId} ` +
            r.wallet.balances.map((b) => `${b.asset} ${b.free}/${b.locked}`).join(" "),
        );
      }
      if (r.market) parts.push(`market ${r.market.symbol} ${r.market.status}`);
      if (r.duplicate) parts.push("duplicate");
      return `${parts.join(" ")} ${style.dim(`cmd=${r.cmdId}`)}`.trim();
    }
  }
  return excerpt(JSON.stringify(value), 160);
}

function typeColour(type: string, style: Style): string {
  if (["rejected", "REJECTED", "CANCELED", "EXPIRED"].includes(type)) return style.yellow(type);
  if (["ok", "execution", "TRADE", "NEW"].includes(type)) return style.cyan(type);
  return style.magenta(type);
}

/** One line for an entry: time, type, key fields; undecodable and dead entries say why. */
export function formatEntry(entry: ShownEntry, style: Style): string {
  const time = style.dim(formatClock(entry.ts));
  const baseName = entry.stream.endsWith(":dead") ? entry.stream.slice(0, -5) : entry.stream;
  const body = entry.value !== undefined
    ? describeMessage(baseName, entry.value, style)
    : `${style.red("undecodable")} ${
      excerpt(typeof entry.raw === "string" ? entry.raw : JSON.stringify(entry.raw) ?? "", 100)
    } ${style.dim(`(${excerpt(entry.invalid ?? "", 120)})`)}`;
  const line = `${time} ${typeColour(entry.type, style)} ${body}`;
  if (!entry.dead) return line;
  return `${line} ${style.red(`dead: ${excerpt(entry.dead.reason, 120)}`)} ${
    style.dim(`original=${entry.dead.originalId} source=${entry.dead.source} dead-id=${entry.id}`)
  }`;
}

/** The JSON record of an entry for `--json`. */
export function entryRecord(entry: ShownEntry): Record<string, unknown> {
  return {
    stream: entry.stream,
    id: entry.id,
    ...(entry.index !== undefined ? { index: entry.index } : {}),
    time: new Date(entry.ts).toISOString(),
    type: entry.type,
    ...(entry.value !== undefined ? { message: entry.value } : { raw: entry.raw, invalid: entry.invalid }),
    ...(entry.dead ? { dead: entry.dead } : {}),
  };
}
