/**
 * The gateway's side of the command path: commands go to `<prefix>:stream:orders` carrying this
 * process's reply stream, and one background reader resolves each waiting request by `cmdId`.
 *
 * Writes are coalesced: commands queued while a write is in flight (or within the same tick) go out
 * together as the XADDs of one MULTI/EXEC on a connection of their own (`RespBatchConnection`: one
 * buffer, one native write), so the hot path never pays one round trip per request.
 * @module
 */
import {
  type EngineCommandInput,
  type EngineReply,
  REPLY_STREAM_TTL_MS,
  replyStream,
  streamKey,
  STREAMS,
} from "@lib/contracts";
import type { Logger } from "@lib/log";
import type { Registry } from "@lib/metrics";
import { sleep } from "@lib/lifecycle";
import {
  type BatchConnection,
  encodeEntry,
  expandEntries,
  type RawEntry,
  type RedisClient,
  type StreamReader,
} from "@lib/redis";
import { ApiError, rejectionError } from "./errors.ts";

/**
 * The entry fields of a command. Orders and cancels come from routes that have already validated
 * every field through the request schemas (decimals are strings by then), so they are written as
 * they are, with the contract's defaults filled in, instead of being parsed through the contract a
 * second time; the engine decodes every entry through the contract anyway. Anything else, or a
 * decimal still given as a number, goes through `encodeEntry`.
 */
export function encodeCommand(command: EngineCommandInput): Record<string, string> {
  switch (command.type) {
    case "place":
      if (
        typeof (command.price ?? "") === "string" && typeof (command.qty ?? "") === "string" &&
        typeof (command.quoteQty ?? "") === "string"
      ) {
        const full = {
          ...command,
          timeInForce: command.timeInForce ?? "GTC",
          postOnly: command.postOnly ?? false,
          stp: command.stp ?? "EXPIRE_TAKER",
        };
        return { type: "place", payload: JSON.stringify(full) };
      }
      break;
    case "cancel":
    case "cancelAll":
      return { type: command.type, payload: JSON.stringify(command) };
  }
  return encodeEntry(STREAMS.orders, command);
}

/**
 * Reads one reply entry. Replies are the engine's own output, written through the contracts, so
 * they are parsed as trusted JSON (as the read models are) rather than through the schema; only
 * the fields the client relies on are checked.
 */
export function decodeReply(entry: RawEntry): EngineReply | string {
  const payload = entry.message.payload;
  if (payload === undefined) return "entry has no payload field";
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (e) {
    return `payload is not JSON: ${(e as Error).message}`;
  }
  const r = json as { cmdId?: unknown; ok?: unknown } | null;
  if (typeof r !== "object" || r === null || typeof r.cmdId !== "string" || typeof r.ok !== "boolean") {
    return "payload is not an engine reply (cmdId, ok)";
  }
  return json as EngineReply;
}

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
  /** Connection for the reply stream's upkeep (shared with other non-blocking work). */
  redis: RedisClient;
  /** Opens the connection commands are written on; called again after it failed. */
  connectBatches: () => Promise<BatchConnection>;
  /**
   * Reads the reply stream (blocking reads on a connection of its own: `RespStreamReader`, or
   * `nodeRedisStreamReader` for rediss://). The client closes it in `close()`.
   */
  reader: StreamReader;
  prefix: string;
  gatewayId: string;
  timeoutMs: number;
  log: Logger;
  metrics: Registry;
  /** Longest batch of commands per write. @default {1000} */
  maxBatch?: number;
}

interface Waiter {
  resolve(reply: EngineReply): void;
  reject(e: unknown): void;
  /** performance.now() after which the request times out. */
  deadline: number;
  started: number;
  /** `{ type }` of the command, one shared object per type. */
  labels: { type: string };
}

const TYPE_LABELS = new Map<string, { type: string }>();
function typeLabels(type: string): { type: string } {
  let labels = TYPE_LABELS.get(type);
  if (!labels) TYPE_LABELS.set(type, labels = Object.freeze({ type })); // the metrics keep its series key
  return labels;
}

/** Sends engine commands and matches replies; one per process. */
export class EngineClient implements EngineGateway {
  readonly replyKey: string;
  readonly commandKey: string;
  #o: EngineClientOptions;
  #queue: { fields: Record<string, string>; cmdId: string }[] = [];
  #conn: BatchConnection | undefined;
  #flushing = false;
  #scheduled = false;
  // insertion order is deadline order (one timeout for all), so expiry scans from the front
  #waiters = new Map<string, Waiter>();
  #sweeper?: ReturnType<typeof setInterval>;
  #controller = new AbortController();
  #loop?: Promise<void>;
  #alive = false;
  /** False from a failed read until a read succeeds again. */
  #readerOk = true;
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
    return this.#alive && this.#readerOk;
  }

  /** Starts the reply reader. Replies to commands sent from now on are seen. */
  async start(): Promise<void> {
    const last = await this.#o.redis.xRevRange(this.replyKey, "+", "-", { COUNT: 1 });
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
      this.#timeouts.inc(w.labels);
      w.reject(
        new ApiError(
          504,
          "ENGINE_TIMEOUT",
          `The matching engine did not answer within ${this.#o.timeoutMs} ms. The command may still be ` +
            "applied. Retrying an order with the same clientOrderId is safe: it is placed at most once, " +
            "and a repeat answers 200 with the order as it was placed (GET /v1/orders/{orderId} gives " +
            "its state now)",
        ),
      );
    }
  }

  async #read(fromId: string): Promise<void> {
    const signal = this.#controller.signal;
    let cursor = fromId;
    while (!signal.aborted) {
      let entries: RawEntry[];
      try {
        entries = await this.#o.reader.read(this.replyKey, cursor, 2000, 1000);
        this.#readerOk = true;
      } catch (e) {
        if (signal.aborted) return;
        this.#readerOk = false;
        // the command writer's connection went with the server (a restart): the first write on it
        // would fail its requests with a 503 only to find that out, so the next write reconnects
        if (!this.#flushing) {
          this.#conn?.close();
          this.#conn = undefined;
        }
        this.#o.log.warn("reply reader error", { error: e });
        await sleep(500, signal);
        continue;
      }
      if (entries.length === 0) continue;
      cursor = entries[entries.length - 1].id;
      for (const entry of expandEntries(entries)) {
        const reply = decodeReply(entry);
        if (typeof reply === "string") {
          this.#o.log.warn("undecodable engine reply", { id: entry.id, reason: reply });
          continue;
        }
        const w = this.#waiters.get(reply.cmdId);
        if (!w) continue; // answered after its timeout, or meant for a previous process
        this.#waiters.delete(reply.cmdId);
        this.#latency.observe((performance.now() - w.started) / 1000, w.labels);
        w.resolve(reply);
      }
      this.#trim(cursor);
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
    const fields = encodeCommand(full);
    const labels = typeLabels(command.type);
    return new Promise<EngineReply>((resolve, reject) => {
      const started = performance.now();
      this.#waiters.set(cmdId, {
        resolve,
        reject,
        deadline: started + this.#o.timeoutMs,
        started,
        labels,
      });
      this.#queue.push({ fields, cmdId });
      this.#sent.inc(labels);
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
        const commands = batch.map((item) => {
          const args = ["XADD", this.commandKey, "*"];
          for (const k in item.fields) args.push(k, item.fields[k]);
          return args;
        });
        try {
          this.#conn ??= await this.#o.connectBatches();
          const { errors } = await this.#conn.exec(commands);
          // a refused XADD (EXEC does not roll back the others): only its request fails
          for (const e of errors) this.#unavailable(batch[e.index].cmdId, e.message);
        } catch (e) {
          this.#conn?.close();
          this.#conn = undefined;
          this.#o.log.error("cannot write commands", { error: e, count: batch.length });
          for (const item of batch) this.#unavailable(item.cmdId, String(e));
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  #unavailable(cmdId: string, why: string): void {
    const w = this.#waiters.get(cmdId);
    if (!w) return;
    this.#waiters.delete(cmdId);
    this.#o.log.debug("command not written", { cmdId, error: why });
    w.reject(new ApiError(503, "ENGINE_UNAVAILABLE", "Cannot reach the command stream; try again"));
  }

  /** Stops and closes the reader, fails every waiting request and deletes this process's reply stream. */
  async close(): Promise<void> {
    this.#controller.abort();
    // ends a blocking read at once
    this.#o.reader.close();
    clearInterval(this.#sweeper);
    for (const [id, w] of this.#waiters) {
      w.reject(new ApiError(503, "SHUTTING_DOWN", "The gateway is shutting down; retry on another instance"));
      this.#waiters.delete(id);
    }
    await this.#loop?.catch(() => {});
    this.#conn?.close();
    this.#conn = undefined;
    await this.#o.redis.del(this.replyKey).catch(() => {});
  }
}

/** The successful reply, or the engine's rejection thrown as a problem (400/404/409/422). */
export function okReply(reply: EngineReply): Extract<EngineReply, { ok: true }> {
  if (!reply.ok) throw rejectionError(reply);
  return reply;
}
