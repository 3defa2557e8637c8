/**
 * Packed stream entries: many messages in one entry (type {@linkcode BATCH_TYPE}, one
 * `<type> <json>` message a line), as the matching engine writes its outputs once per batch, and
 * what readers need to unpack them and to size their reads.
 * @module
 */
import type { RawEntry } from "./mod.ts";

/** The `type` of an entry that packs several messages, one a line (see the module comment). */
export const BATCH_TYPE = "batch";

/** One line of a packed entry. JSON never holds a raw newline, so lines split safely. */
export function batchLine(type: string, json: string): string {
  return `${type} ${json}`;
}

/**
 * Unpacks entries of type {@linkcode BATCH_TYPE} into one entry per message (same id); other
 * entries pass through. A line without a type is passed on without a payload, so decoding it
 * dead-letters it with a reason instead of losing it.
 */
export function expandEntries(entries: RawEntry[]): RawEntry[] {
  let packed = false;
  for (const e of entries) {
    if (e.message?.type === BATCH_TYPE) {
      packed = true;
      break;
    }
  }
  if (!packed) return entries;
  const out: RawEntry[] = [];
  for (const e of entries) {
    if (e.message?.type !== BATCH_TYPE) {
      out.push(e);
      continue;
    }
    const payload = e.message.payload ?? "";
    let start = 0;
    let index = 0;
    while (start < payload.length) {
      let end = payload.indexOf("\n", start);
      if (end < 0) end = payload.length;
      const space = payload.indexOf(" ", start);
      out.push(
        space < 0 || space > end
          ? { id: e.id, index, message: { type: BATCH_TYPE, line: payload.slice(start, end) } }
          : {
            id: e.id,
            index,
            message: { type: payload.slice(start, space), payload: payload.slice(space + 1, end) },
          },
      );
      index++;
      start = end + 1;
    }
  }
  return out;
}

/**
 * How many stream entries to ask for so that a read brings about `messages` messages, given what
 * entries held lately: a reader of packed entries would otherwise take whole streams in one read.
 * Feed it every read with {@linkcode EntryCount.observe}.
 */
export class EntryCount {
  /** Messages per entry lately; unknown until the first read, which asks for one entry. */
  #perEntry: number | undefined;
  constructor(readonly messages: number) {}

  /** The COUNT of the next read. */
  get count(): number {
    return this.#perEntry === undefined ? 1 : Math.max(1, Math.round(this.messages / this.#perEntry));
  }

  /** Notes a read: `entries` entries that held `messages` messages. */
  observe(entries: number, messages: number): void {
    if (entries === 0) return;
    const now = messages / entries;
    this.#perEntry = this.#perEntry === undefined ? now : this.#perEntry + (now - this.#perEntry) / 4;
  }
}

/**
 * A unique id of one message: the entry id, or `<entry id>/<index>` for a message of a packed entry.
 * For keys that must tell messages apart (postings, order events); not a stream id.
 */
export function messageId(entry: RawEntry): string {
  return entry.index === undefined ? entry.id : `${entry.id}/${entry.index}`;
}

/**
 * Messages ever added to stream `name`: for a stream whose writer packs its messages, what the
 * entries carried (`packed`: the `stats:messages-added` hash); otherwise Redis' `entries-added`.
 */
export function streamMessagesAdded<T extends number | null>(
  packed: Record<string, string>,
  name: string,
  entriesAdded: T,
): number | T {
  return packed[name] !== undefined ? Number(packed[name]) : entriesAdded;
}
