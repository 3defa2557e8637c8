/**
 * The gateway's side of the command path: commands go to `<prefix>:stream:orders` carrying this
 * process's reply stream, and one background reader resolves each waiting request by `cmdId`.
 *
 * Writes are coalesced: commands queued while a pipeline is in flight (or within the same tick) go
 * out together in the next XADD pipeline, so the hot path never pays one round trip per request.
 * @module
 */
import { type EngineCommandInput, type EngineReply, replyStream, streamKey, STREAMS } from "@lib/contracts";
import type { Logger } from "@lib/log";
import type { Registry } from "@lib/metrics";
import { decodeEntry, encodeEntry, followStream, type RedisClient } from "@lib/redis";
import { ApiError, rejectionError } from "./errors.ts";

/** How long an unread reply stream lives after its last trim (a crashed gateway's stream goes away). */
const REPLY_STREAM_TTL_MS = 3_600_000;

/** A command as a caller hands it over; the client adds `cmdId` and `replyTo`. */
export type CommandDraft = EngineCommandInput extends infer C
  ? C extends { cmdId: string } ? Omit<C, "cmdId" | "replyTo"> : never
  : never;

/** What routes need from the engine. */
export interface EngineGateway {
  /** Sends a command and resolves with the engine's reply; throws a 504 ApiError on timeout. */
  send(command: CommandDraft): Promise<EngineReply>;
}

export interface EngineClientOptions {
  /** Connection for writes (shared with other non-blocking work). */
  redis: RedisClient;
  /** Connection of its own for the blocking reply reader. */
  reader: RedisClient;
  prefix: string;
  gatewayId: string;
  timeoutMs: number;
  log: Logger;
  metrics: Registry;
  /** Longest batch of commands per pipeline. @default {1000} */
  maxBatch?: number;
}

interface Waiter {
  resolve(reply: EngineReply): void;
  reject(e: unknown): void;
  /** performance.now() after which the request times out. */
  deadline: number;
  started: number;
  type: string;
}

/** Sends engine commands and matches replies; one per process. */
export class EngineClient implements EngineGateway {
  readonly replyKey: string;
  readonly commandKey: string;
  #o: EngineClientOptions;
  #queue: { fields: Record<string, string>; cmdId: string }[] = [];
  #flushing = false;
  #scheduled = false;
  // insertion order is deadline order (one timeout for all), so expiry scans from the front
  #waiters = new Map<string, Waiter>();
  #sweeper?: ReturnType<typeof setInterval>;
  #controller = new AbortController();
  #loop?: Promise<void>;
  #alive = false;
  #lastTrim = 0;
  #latency;
  #timeouts;
  #sent;
  #batches;

  constructor(options: EngineClientOptions) {
    this.#o = options;
    this.replyKey = streamKey(options.prefix, replyStream(options.gatewayId));
    this.commandKey = streamKey(options.prefix, STREAMS.orders);
    const m = options.metrics;
    this.#latency = m.histogram("gateway_engine_reply_seconds", "Time from command queued to engine reply");
    this.#timeouts = m.counter("gateway_engine_timeouts_total", "Commands without a reply in time");
    this.#sent = m.counter("gateway_engine_commands_total", "Commands sent to the engine");
    this.#batches = m.histogram(
      "gateway_command_batch_size",
      "Commands per XADD pipeline (write coalescing)",
      [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    );
    m.gauge("gateway_pending_replies", "Commands waiting for an engine reply", (g) => g.set(this.pending));
    m.gauge("gateway_reply_reader_alive", "1 while the reply reader runs", (g) => g.set(this.alive ? 1 : 0));
  }

  /** Number of commands waiting for a reply. */
  get pending(): number {
    return this.#waiters.size;
  }

  /** True while the reply reader is running on a ready connection. */
  get alive(): boolean {
    return this.#alive && this.#o.reader.isReady;
  }

  /** Starts the reply reader. Replies to commands sent from now on are seen. */
  async start(): Promise<void> {
    const last = await this.#o.reader.xRevRange(this.replyKey, "+", "-", { COUNT: 1 });
    const fromId = last?.[0]?.id ?? "0-0";
    this.#alive = true;
    this.#loop = this.#read(fromId).finally(() => this.#alive = false);
    // one timer for every waiting request instead of one per request
    this.#sweeper = setInterval(() => this.#expire(), Math.min(100, Math.max(10, this.#o.timeoutMs / 10)));
  }

  #expire(): void {
    const now = performance.now();
    for (const [cmdId, w] of this.#waiters) {
      if (w.deadline > now) break;
      this.#waiters.delete(cmdId);
      this.#timeouts.inc({ type: w.type });
      w.reject(
        new ApiError(
          504,
          "ENGINE_TIMEOUT",
          `The matching engine did not answer within ${this.#o.timeoutMs} ms. The command may still be ` +
            `applied: check GET /v1/orders/open; retrying an order with the same clientOrderId is safe`,
        ),
      );
    }
  }

  async #read(fromId: string): Promise<void> {
    const stream = replyStream(this.#o.gatewayId);
    const batches = followStream(this.#o.reader, this.replyKey, {
      fromId,
      signal: this.#controller.signal,
      blockMs: 1000,
      count: 2000,
      onError: (e) => this.#o.log.warn("reply reader error", { error: e }),
    });
    for await (const batch of batches) {
      for (const entry of batch) {
        const d = decodeEntry(stream, entry);
        if (!d.ok) {
          this.#o.log.warn("undecodable engine reply", { id: entry.id, reason: d.reason });
          continue;
        }
        const w = this.#waiters.get(d.value.cmdId);
        if (!w) continue; // answered after its timeout, or meant for a previous process
        this.#waiters.delete(d.value.cmdId);
        this.#latency.observe((performance.now() - w.started) / 1000, { type: w.type });
        w.resolve(d.value);
      }
      this.#trim(batch[batch.length - 1].id);
    }
  }

  #trim(lastId: string): void {
    const now = Date.now();
    if (now - this.#lastTrim < 1000) return;
    this.#lastTrim = now;
    // replies already read are of no further use; this process is the only reader of its stream.
    // The expiry removes the stream of a gateway that died without its shutdown (refreshed here).
    this.#o.redis.multi().xTrim(this.replyKey, "MINID", lastId).pExpire(this.replyKey, REPLY_STREAM_TTL_MS)
      .execAsPipeline().catch(() => {});
  }

  send(command: CommandDraft): Promise<EngineReply> {
    const cmdId = crypto.randomUUID();
    const full = { ...command, cmdId, replyTo: this.replyKey } as EngineCommandInput;
    const fields = encodeEntry(STREAMS.orders, full);
    return new Promise<EngineReply>((resolve, reject) => {
      const started = performance.now();
      this.#waiters.set(cmdId, {
        resolve,
        reject,
        deadline: started + this.#o.timeoutMs,
        started,
        type: command.type,
      });
      this.#queue.push({ fields, cmdId });
      this.#sent.inc({ type: command.type });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#flushing || this.#scheduled) return;
    this.#scheduled = true;
    // a macrotask, so requests parsed in the same turn of the event loop share one pipeline
    setTimeout(() => {
      this.#scheduled = false;
      void this.#flush();
    }, 0);
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#o.maxBatch ?? 1000);
        this.#batches.observe(batch.length);
        const multi = this.#o.redis.multi();
        for (const item of batch) multi.xAdd(this.commandKey, "*", item.fields);
        try {
          await multi.execAsPipeline();
        } catch (e) {
          this.#o.log.error("cannot write commands", { error: e, count: batch.length });
          for (const item of batch) {
            const w = this.#waiters.get(item.cmdId);
            if (!w) continue;
            this.#waiters.delete(item.cmdId);
            w.reject(new ApiError(503, "ENGINE_UNAVAILABLE", "Cannot reach the command stream; try again"));
          }
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Stops the reader, fails every waiting request and deletes this process's reply stream. */
  async close(): Promise<void> {
    this.#controller.abort();
    clearInterval(this.#sweeper);
    for (const [id, w] of this.#waiters) {
      w.reject(new ApiError(503, "SHUTTING_DOWN", "The gateway is shutting down; retry on another instance"));
      this.#waiters.delete(id);
    }
    await this.#loop?.catch(() => {});
    await this.#o.redis.del(this.replyKey).catch(() => {});
  }
}

/** The successful reply, or the engine's rejection thrown as a problem (400/404/409/422). */
export function okReply(reply: EngineReply): Extract<EngineReply, { ok: true }> {
  if (!reply.ok) throw rejectionError(reply);
  return reply;
}
