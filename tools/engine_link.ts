/**
 * Sends engine commands from the tools and waits for their replies on a reply stream of the tools'
 * own (`replies:tools-<id>`), the way the gateway does.
 * @module
 */
import { type EngineCommandInput, type EngineReply, replyStream, streamKey, STREAMS } from "@lib/contracts";
import { decodeEntry, encodeEntry, expandEntries, type RawEntry, type RedisClient } from "@lib/redis";

/** A command without the `cmdId` and `replyTo` the link fills in. */
export type CommandDraft = EngineCommandInput extends infer C
  ? C extends { cmdId: string } ? Omit<C, "cmdId" | "replyTo"> : never
  : never;

/** Thrown when the engine does not answer in time. */
export class NoReplyError extends Error {
  constructor(readonly cmdId: string, timeoutMs: number) {
    super(
      `the matching engine did not answer within ${timeoutMs} ms (is it running with this --prefix?); ` +
        `the command stays queued on stream:orders and is applied when the engine runs (cmdId ${cmdId})`,
    );
    this.name = "NoReplyError";
  }
}

/** A reply stream of this process. Disposing deletes it. */
export interface ReplyLink extends AsyncDisposable {
  /** Short stream name written into `replyTo`. */
  readonly name: string;
  readonly key: string;
  /** Builds the full command with a fresh cmdId and this link's reply stream. */
  command(draft: CommandDraft): EngineCommandInput & { cmdId: string };
  /** Sends one command and waits for its reply. */
  send(draft: CommandDraft, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<EngineReply>;
  /**
   * Reads replies that arrived after `cursor` (blocking up to `blockMs`); returns them with the new
   * cursor. For callers that track many commands at once.
   */
  poll(cursor: string, blockMs: number): Promise<{ cursor: string; replies: EngineReply[] }>;
}

/** Opens a reply link on `redis` (which it blocks on while waiting: give it a connection of its own). */
export function openReplyLink(redis: RedisClient, prefix: string, senderId?: string): ReplyLink {
  const def = replyStream(senderId ?? `tools-${crypto.randomUUID().slice(0, 8)}`);
  const key = streamKey(prefix, def);
  const commandKey = streamKey(prefix, STREAMS.orders);

  async function poll(cursor: string, blockMs: number) {
    const res = await redis.xRead({ key, id: cursor }, { COUNT: 1000, BLOCK: blockMs });
    const entries = (res?.[0]?.messages ?? []) as RawEntry[];
    const replies: EngineReply[] = [];
    for (const e of expandEntries(entries)) {
      const d = decodeEntry(def, e);
      if (d.ok) replies.push(d.value);
    }
    return { cursor: entries.length ? entries[entries.length - 1].id : cursor, replies };
  }

  const link: ReplyLink = {
    name: def.name,
    key,
    command(draft) {
      return { ...draft, cmdId: crypto.randomUUID(), replyTo: def.name } as EngineCommandInput & {
        cmdId: string;
      };
    },
    async send(draft, options = {}) {
      const timeoutMs = options.timeoutMs ?? 5000;
      const full = link.command(draft);
      const last = (await redis.xRevRange(key, "+", "-", { COUNT: 1 })) as RawEntry[];
      let cursor = last[0]?.id ?? "0-0";
      await redis.xAdd(commandKey, "*", encodeEntry(STREAMS.orders, full));
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && !options.signal?.aborted) {
        const r = await poll(cursor, Math.max(1, Math.min(500, deadline - Date.now())));
        cursor = r.cursor;
        const mine = r.replies.find((x) => x.cmdId === full.cmdId);
        if (mine) return mine;
      }
      throw new NoReplyError(full.cmdId, timeoutMs);
    },
    poll,
    async [Symbol.asyncDispose]() {
      await redis.del(key).catch(() => {});
    },
  };
  return link;
}

/** One line describing a rejection reply. */
export function rejectionText(reply: EngineReply): string {
  return reply.ok ? "ok" : `${reply.reason}: ${reply.message}`;
}
