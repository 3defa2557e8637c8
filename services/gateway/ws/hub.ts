/**
 * In-memory fan-out: channels -> subscribed clients, one outbox per client flushed once per tick,
 * snapshot-then-live subscriptions, and the slow-client cut-off. No Redis here: snapshot loaders are
 * passed in by the caller, so this file is tested with fake sockets.
 */
import type { Identity } from "./channels.ts";
import { CLOSE } from "./protocol.ts";

/** The part of a server-side WebSocket the hub uses (Deno's WebSocket satisfies it). */
export interface FeedSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  readonly readyState: number;
  readonly bufferedAmount: number;
}

/** `v1`: /v1/ws (frames may batch messages in a JSON array); `trades` / `ticks`: the legacy routes. */
export type Route = "v1" | "trades" | "ticks";
export const ROUTES: readonly Route[] = ["v1", "trades", "ticks"];

/**
 * How a channel's positions order its messages, so a client never gets an item twice or out of order
 * across its snapshot: `seq` drops items at or below the last position sent (book seq, trade seq);
 * `ts` drops items strictly below it (tickers and wallets, whose timestamps may repeat).
 */
export type Ordering = "seq" | "ts";

/** What a snapshot load produced: messages sent first, and the position they stand for. */
export interface Snapshot {
  messages: string[];
  position?: number;
}

/** How to open a channel: its kind (for metrics), ordering, and snapshot loader if it has one. */
export interface ChannelSpec {
  name: string;
  kind: string;
  ordering?: Ordering;
  load?: () => Promise<Snapshot>;
}

export class Client {
  static #next = 1;
  readonly id = Client.#next++;
  identity: Identity | undefined;
  /** The token that gave `identity`: checked again before each private subscribe. */
  credential: string | undefined;
  /** Channels subscribed (live or waiting for their snapshot). */
  readonly subs = new Set<string>();
  /** Last position sent per ordered channel. */
  readonly positions = new Map<string, number>();
  out: string[] = [];
  outBytes = 0;
  /** Dropped or disconnected: nothing more is queued. */
  closed = false;
  /** Client operations run one after another (an auth completes before the next subscribe). */
  ops: Promise<void> = Promise.resolve();
  /** Operations this client may still send now (see OPS_PER_SECOND), and when they were counted. */
  opTokens = -1;
  opTokensAt = 0;
  /** An op was refused since the last RATE_LIMITED error (one error per refill, not one per op). */
  opRefusedTold = false;
  constructor(readonly socket: FeedSocket, readonly route: Route) {}
}

interface ChannelState {
  spec: ChannelSpec;
  live: Set<Client>;
  /** Present while a snapshot is loading: who waits for it, and what arrived meanwhile. */
  pending?: { clients: Set<Client>; buffer: { message: string; position?: number }[] };
}

export interface HubMetrics {
  sent(route: Route, messages: number, frames: number): void;
  dropped(route: Route): void;
  /** Seconds from the first message queued in a tick to the end of its flush. */
  fanout(seconds: number): void;
}

export interface HubOptions {
  /** A client whose unsent bytes (socket buffer + outbox) pass this is disconnected. */
  maxBufferedBytes: number;
  /** 0: flush at the end of the current task (one frame per stream read); > 0: wait this long. */
  batchMs: number;
  /** The message sent to waiting clients when a snapshot load fails. */
  loadFailed: (channel: string, error: unknown) => string;
  metrics?: HubMetrics;
  onDrop?: (client: Client, reason: string) => void;
}

const OPEN = 1;

export class Hub {
  #clients = new Set<Client>();
  /** Clients whose socket has not reported its close yet (dropped ones included). */
  #sockets = new Set<Client>();
  #idle: (() => void)[] = [];
  #channels = new Map<string, ChannelState>();
  #kinds = new Map<string, number>();
  #dirty = new Set<Client>();
  #scheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firstQueuedAt = 0;
  #closed = false;
  readonly #o: HubOptions;

  constructor(options: HubOptions) {
    this.#o = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Registers a newly opened socket. */
  connect(socket: FeedSocket, route: Route): Client {
    const c = new Client(socket, route);
    this.#sockets.add(c);
    if (this.#closed) {
      c.closed = true;
      try {
        socket.close(CLOSE.SHUTDOWN, "server shutting down");
      } catch { /* already closing */ }
      return c;
    }
    this.#clients.add(c);
    return c;
  }

  /** Forgets a client (its socket closed, or it is being dropped). Idempotent. */
  disconnect(c: Client): void {
    if (!c.closed) {
      c.closed = true;
      this.#clients.delete(c);
      this.#dirty.delete(c);
      for (const name of c.subs) this.#leave(c, name);
      c.subs.clear();
      c.out = [];
      c.outBytes = 0;
    }
  }

  /** The socket's close event fired: the connection is gone for good. */
  socketClosed(c: Client): void {
    this.disconnect(c);
    this.#sockets.delete(c);
    if (this.#sockets.size === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
  }

  /** Resolves when every socket has closed, or after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    if (this.#sockets.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#idle.push(resolve)),
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  clientCount(route?: Route): number {
    if (!route) return this.#clients.size;
    let n = 0;
    for (const c of this.#clients) if (c.route === route) n++;
    return n;
  }

  /** Subscriptions per channel kind (for the gauge). */
  subscriptionCounts(): ReadonlyMap<string, number> {
    return this.#kinds;
  }

  /** Names of the channels of one kind that have subscribers. */
  channelNames(kind: string): string[] {
    const names: string[] = [];
    for (const [name, ch] of this.#channels) if (ch.spec.kind === kind) names.push(name);
    return names;
  }

  /** Whether anybody listens on a channel (build a message only if so). */
  wants(name: string): boolean {
    return this.#channels.has(name);
  }

  /**
   * Subscribes a client. A channel with a loader sends its snapshot first, then whatever arrived
   * while it loaded and is newer than the snapshot, then live messages. Subscribing again to such a
   * channel sends a fresh snapshot (the way to resync after a gap). Returns false for a duplicate
   * subscription to a channel without a snapshot (nothing to do).
   */
  subscribe(c: Client, spec: ChannelSpec): boolean {
    if (c.closed) return false;
    let ch = this.#channels.get(spec.name);
    if (!ch) this.#channels.set(spec.name, ch = { spec, live: new Set() });
    if (c.subs.has(spec.name)) {
      if (!spec.load) return false;
      if (ch.pending?.clients.has(c)) return true;
      ch.live.delete(c);
    } else {
      c.subs.add(spec.name);
      this.#kinds.set(spec.kind, (this.#kinds.get(spec.kind) ?? 0) + 1);
    }
    if (!spec.load) {
      ch.live.add(c);
      return true;
    }
    c.positions.delete(spec.name);
    if (ch.pending) {
      ch.pending.clients.add(c);
    } else {
      ch.pending = { clients: new Set([c]), buffer: [] };
      void this.#load(ch, spec.load);
    }
    return true;
  }

  /** Unsubscribes; returns whether the client was subscribed. */
  unsubscribe(c: Client, name: string): boolean {
    if (!c.subs.delete(name)) return false;
    this.#leave(c, name);
    return true;
  }

  #leave(c: Client, name: string): void {
    c.positions.delete(name);
    const ch = this.#channels.get(name);
    if (!ch) return;
    ch.live.delete(c);
    ch.pending?.clients.delete(c);
    this.#kinds.set(ch.spec.kind, (this.#kinds.get(ch.spec.kind) ?? 1) - 1);
    if (ch.live.size === 0 && !ch.pending) this.#channels.delete(name);
  }

  async #load(ch: ChannelState, load: () => Promise<Snapshot>): Promise<void> {
    let snapshot: Snapshot | undefined;
    let failure: unknown;
    try {
      snapshot = await load();
    } catch (e) {
      failure = e;
    }
    const pending = ch.pending!;
    ch.pending = undefined;
    const { name, ordering } = ch.spec;
    for (const c of pending.clients) {
      if (c.closed || !c.subs.has(name)) continue;
      if (!snapshot) {
        c.subs.delete(name);
        this.#kinds.set(ch.spec.kind, (this.#kinds.get(ch.spec.kind) ?? 1) - 1);
        this.reply(c, this.#o.loadFailed(name, failure));
        continue;
      }
      for (const m of snapshot.messages) this.#enqueue(c, m);
      let last = snapshot.position;
      for (const item of pending.buffer) {
        if (ordering && item.position !== undefined) {
          if (last !== undefined && (ordering === "seq" ? item.position <= last : item.position < last)) {
            continue;
          }
          last = item.position;
        }
        this.#enqueue(c, item.message);
      }
      if (last !== undefined) c.positions.set(name, last);
      if (!c.closed) ch.live.add(c);
    }
    if (ch.live.size === 0 && !ch.pending && this.#channels.get(name) === ch) this.#channels.delete(name);
  }

  /**
   * Hands one message of a channel to its subscribers. `position` (see Ordering) lets a client that
   * just got a snapshot skip items the snapshot already holds.
   */
  deliver(name: string, message: string, position?: number): void {
    const ch = this.#channels.get(name);
    if (!ch) return;
    ch.pending?.buffer.push({ message, position });
    const ordering = position === undefined ? undefined : ch.spec.ordering;
    for (const c of ch.live) {
      if (ordering) {
        const last = c.positions.get(name);
        if (last !== undefined && (ordering === "seq" ? position! <= last : position! < last)) continue;
        c.positions.set(name, position!);
      }
      this.#enqueue(c, message);
    }
  }

  /** Queues a message for one client and sends its outbox now (replies to client operations). */
  reply(c: Client, message: string): void {
    this.#enqueue(c, message);
    if (c.closed) return;
    this.#dirty.delete(c);
    this.#flushClient(c);
  }

  /** Every open connection. */
  connections(): IterableIterator<Client> {
    return this.#clients.values();
  }

  /** Queues `message` for every /v1/ws client, and cuts off stuck clients on every route. */
  heartbeat(message: string): void {
    for (const c of this.#clients) {
      if (c.route === "v1") this.#enqueue(c, message);
      else if (c.socket.bufferedAmount > this.#o.maxBufferedBytes) this.#drop(c, "slow consumer");
    }
  }

  #enqueue(c: Client, message: string): void {
    if (c.closed) return;
    c.out.push(message);
    c.outBytes += message.length;
    if (c.outBytes > this.#o.maxBufferedBytes) return this.#drop(c, "slow consumer");
    if (this.#dirty.size === 0) this.#firstQueuedAt = performance.now();
    this.#dirty.add(c);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#o.batchMs > 0) {
      this.#timer ??= setTimeout(() => this.flush(), this.#o.batchMs);
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  #sentBy: Record<Route, [number, number]> = { v1: [0, 0], trades: [0, 0], ticks: [0, 0] };

  /** Sends every queued outbox: one frame per /v1/ws client, one frame per message on legacy routes. */
  flush(): void {
    this.#scheduled = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#dirty.size === 0) return;
    for (const c of this.#dirty) this.#flushClient(c);
    this.#dirty.clear();
    this.#lastOut = undefined;
    this.#lastFrame = "";
    const m = this.#o.metrics;
    if (m) {
      for (const route of ROUTES) {
        const s = this.#sentBy[route];
        if (s[0]) m.sent(route, s[0], s[1]);
        s[0] = s[1] = 0;
      }
      m.fanout((performance.now() - this.#firstQueuedAt) / 1000);
    }
  }

  #flushClient(c: Client): void {
    const out = c.out;
    if (out.length === 0) return;
    const bytes = c.outBytes;
    c.out = [];
    c.outBytes = 0;
    const socket = c.socket;
    if (socket.readyState !== OPEN) return;
    // checked before sending: right after a send, Deno counts the frame as buffered until the next tick
    if (socket.bufferedAmount + bytes > this.#o.maxBufferedBytes) return this.#drop(c, "slow consumer");
    const s = this.#sentBy[c.route];
    try {
      if (c.route === "v1") {
        socket.send(out.length === 1 ? out[0] : this.#frame(out));
        s[1]++;
      } else {
        for (const m of out) socket.send(m);
        s[1] += out.length;
      }
      s[0] += out.length;
    } catch {
      this.disconnect(c);
    }
  }

  #lastOut: string[] | undefined;
  #lastFrame = "";

  /**
   * The array frame of an outbox. Clients on the same channels get the same messages in the same
   * order, so consecutive outboxes usually match element by element (same string objects) and
   * share one frame instead of each building its own copy.
   */
  #frame(out: string[]): string {
    const last = this.#lastOut;
    if (last && last.length === out.length) {
      let same = true;
      for (let i = 0; i < out.length && same; i++) same = last[i] === out[i];
      if (same) return this.#lastFrame;
    }
    this.#lastOut = out;
    return this.#lastFrame = `[${out.join(",")}]`;
  }

  #drop(c: Client, reason: string): void {
    if (c.closed) return;
    this.disconnect(c);
    this.#o.metrics?.dropped(c.route);
    this.#o.onDrop?.(c, reason);
    try {
      // the close frame queues behind the unread data; the socket closes once the peer reads or goes
      c.socket.close(CLOSE.SLOW_CONSUMER, reason);
    } catch { /* already closing */ }
  }

  /** Closes every socket (code 4012) and stops flushing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.flush();
    clearTimeout(this.#timer);
    for (const c of [...this.#clients]) {
      this.disconnect(c);
      try {
        c.socket.close(CLOSE.SHUTDOWN, "server shutting down");
      } catch { /* already closing */ }
    }
  }
}
