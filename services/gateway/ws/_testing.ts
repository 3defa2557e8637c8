/**
 * Test helpers for the feed: a served feed on a fixture prefix, a WebSocket test client that collects
 * messages, a raw TCP client that completes the handshake and then reads nothing (a slow or dead
 * peer), and builders for contract messages.
 */
import {
  type BookDelta,
  type BookSnapshot,
  type Execution,
  keys,
  type OrderEvent,
  streamKey,
  STREAMS,
  type WalletEvent,
} from "@lib/contracts";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { encodeEntry, type RedisClient } from "@lib/redis";
import { redisFixture, sampleOrderAck } from "@lib/testing";
import { Hono } from "hono";
import { createMarketFeed, type MarketFeedDeps } from "./mod.ts";

export const TOKENS: Record<string, { userId: string; role: "user" | "admin" }> = {
  "tok-alice": { userId: "alice", role: "user" },
  "tok-bob": { userId: "bob", role: "user" },
  "tok-root": { userId: "root", role: "admin" },
};

/** Tokens whose check fails as if the store behind it were down (not a refusal). */
export const FAILING = new Set<string>();

export async function startFeed(options?: MarketFeedDeps["options"]) {
  const fx = await redisFixture("ws");
  const metrics = new Registry();
  const controller = new AbortController();
  const lines: string[] = [];
  const feed = await createMarketFeed({
    redisUrl: fx.url,
    prefix: fx.prefix,
    log: createLogger("gateway", { level: "debug", pretty: false, write: (l) => lines.push(l) }),
    metrics,
    authenticate: (token) =>
      FAILING.has(token)
        ? Promise.reject(new Error("the key store is down"))
        : Promise.resolve(TOKENS[token]),
    signal: controller.signal,
    options,
  });
  const app = new Hono().route("/", feed.routes);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const clients: { close(): Promise<void> }[] = [];
  return {
    redis: fx.redis,
    prefix: fx.prefix,
    feed,
    metrics,
    lines,
    port: server.addr.port,
    url: `ws://127.0.0.1:${server.addr.port}`,
    http: `http://127.0.0.1:${server.addr.port}`,
    async client(path = "/v1/ws"): Promise<TestClient> {
      const c = await TestClient.open(`ws://127.0.0.1:${server.addr.port}${path}`);
      clients.push(c);
      return c;
    },
    async raw(path: string, upgrade?: string): Promise<RawClient> {
      const c = await RawClient.open(server.addr.port, path, upgrade);
      clients.push(c);
      return c;
    },
    metric(name: string, labels = ""): number {
      const line = metrics.render().split("\n").find((l) => l.startsWith(`kalency_${name}${labels} `));
      return line ? Number(line.split(" ")[1]) : 0;
    },
    async [Symbol.asyncDispose]() {
      for (const c of clients) await c.close();
      controller.abort();
      await feed.close();
      await server.shutdown();
      await fx[Symbol.asyncDispose]();
    },
  };
}

export type Message = Record<string, any>;

/** A standard WebSocket client that keeps every message (array frames are split). */
export class TestClient {
  readonly messages: Message[] = [];
  frames = 0;
  #cursor = 0;
  #waiters = new Set<() => void>();
  readonly closed: Promise<CloseEvent>;

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.frames++;
      const parsed = JSON.parse(e.data as string);
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) this.messages.push(m);
      for (const w of this.#waiters) w();
    };
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (e) => {
        resolve(e);
        for (const w of this.#waiters) w();
      });
    });
  }

  static async open(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    const c = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener(
        "error",
        (e) => reject(new Error(`cannot connect to ${url}: ${(e as ErrorEvent).message}`)),
        {
          once: true,
        },
      );
    });
    return c;
  }

  send(op: unknown): void {
    this.ws.send(typeof op === "string" ? op : JSON.stringify(op));
  }

  /** Waits for the next message (after the previous one taken) that matches; skips the others. */
  async take(match: (m: Message) => boolean, what = "a message", timeoutMs = 5000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      while (this.#cursor < this.messages.length) {
        const m = this.messages[this.#cursor++];
        if (match(m)) return m;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages.slice(-5))}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        const w = () => resolve();
        this.#waiters.add(w);
        timer = setTimeout(() => {
          this.#waiters.delete(w);
          resolve();
        }, left);
      }).finally(() => clearTimeout(timer));
      this.#waiters.clear();
    }
  }

  /** Sends an op and waits for its reply (matched by `id`). */
  request(op: Message, type?: string): Promise<Message> {
    const id = op.id ?? crypto.randomUUID().slice(0, 8);
    this.send({ ...op, id });
    return this.take((m) => m.id === id && (!type || m.type === type), `reply to ${JSON.stringify(op)}`);
  }

  /** Everything received on one channel so far. */
  on(channel: string): Message[] {
    return this.messages.filter((m) => m.channel === channel);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await this.closed;
  }
}

/**
 * A client speaking just enough of RFC 6455 by hand to complete the handshake and send text frames,
 * and that reads nothing unless asked: the socket's receive buffer fills up like a stuck peer's,
 * and it never answers a ping like a dead peer.
 */
export class RawClient {
  #closed = false;
  private constructor(readonly conn: Deno.Conn) {}

  /** `upgrade`: the Upgrade header's value, as a client spells it. */
  static async open(port: number, path: string, upgrade = "websocket"): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    // read the response head byte by byte so no frame bytes are consumed with it
    let head = "";
    const one = new Uint8Array(1);
    while (!head.endsWith("\r\n\r\n")) {
      if ((await conn.read(one)) === null) throw new Error("connection closed during the handshake");
      head += String.fromCharCode(one[0]);
    }
    if (!head.startsWith("HTTP/1.1 101")) throw new Error(`upgrade refused: ${head.split("\r\n")[0]}`);
    return new RawClient(conn);
  }

  /** Sends a masked text frame, as a client must. */
  async sendText(text: string): Promise<void> {
    const payload = new TextEncoder().encode(text);
    const head = payload.length < 126
      ? [0x81, 0x80 | payload.length]
      : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const frame = new Uint8Array(head.length + 4 + payload.length);
    frame.set(head);
    frame.set(mask, head.length);
    for (let i = 0; i < payload.length; i++) frame[head.length + 4 + i] = payload[i] ^ mask[i % 4];
    await this.conn.write(frame);
  }

  /** Reads until the server closes the TCP connection; returns false if it did not within the time. */
  async readUntilClosed(timeoutMs: number): Promise<boolean> {
    const buf = new Uint8Array(64 * 1024);
    const timer = setTimeout(() => this.close(), timeoutMs);
    try {
      while ((await this.conn.read(buf)) !== null) { /* discard */ }
      return !this.#closed;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.conn.close();
      } catch { /* closed by the peer */ }
    }
    return Promise.resolve();
  }
}

let tradeCounter = 0;

/** A valid Execution of `symbol` with per-symbol `seq`. */
export function trade(symbol: string, seq: number, over: Partial<Execution> = {}): Execution {
  const id = ++tradeCounter;
  return {
    tradeId: `trd-${symbol}-${seq}-${id}`,
    symbol,
    seq,
    price: "65000.5",
    qty: "0.0100",
    quoteQty: "650.005",
    makerOrderId: `ord-m-${id}`,
    makerUserId: "maker",
    takerOrderId: `ord-t-${id}`,
    takerUserId: "taker",
    takerSide: "BUY",
    buyerUserId: "taker",
    sellerUserId: "maker",
    buyOrderId: `ord-t-${id}`,
    sellOrderId: `ord-m-${id}`,
    makerFee: "0",
    takerFee: "0",
    feeAsset: "USD",
    ts: Date.now(),
    ...over,
  };
}

export function orderEvent(userId: string, orderId: string): OrderEvent {
  const ts = Date.now();
  return {
    event: "NEW",
    order: sampleOrderAck({
      orderId,
      userId,
      price: "60000",
      qty: "0.5",
      remainingQty: "0.5",
      createdAt: ts,
      ts,
    }),
    ts,
  };
}

export function walletEvent(userId: string, free: string, ts = Date.now()): WalletEvent {
  return { userId, asset: "USD", freeDelta: "-1", lockedDelta: "1", free, locked: "1", reason: "LOCK", ts };
}

/** A book model that publishes like the engine: deltas and the read model in one MULTI. */
export class BookWriter {
  seq = 0;
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();
  constructor(readonly redis: RedisClient, readonly prefix: string, readonly symbol = "BTC-USD") {}

  /**
   * One delta per group of changes, written with the read model in one MULTI. `lose` updates the
   * read model but keeps the deltas off the stream (an upstream gap).
   */
  async apply(
    changes: { side: "bids" | "asks"; price: string; qty: string }[][],
    options: { lose?: boolean } = {},
  ): Promise<BookDelta[]> {
    const deltas: BookDelta[] = [];
    for (const group of changes) {
      const d: BookDelta = { symbol: this.symbol, seq: ++this.seq, bids: [], asks: [], ts: Date.now() };
      for (const ch of group) {
        d[ch.side].push([ch.price, ch.qty]);
        if (ch.qty === "0") this[ch.side].delete(ch.price);
        else this[ch.side].set(ch.price, ch.qty);
      }
      deltas.push(d);
    }
    const m = this.redis.multi();
    if (!options.lose) {
      for (const d of deltas) {
        m.xAdd(streamKey(this.prefix, STREAMS.book), "*", encodeEntry(STREAMS.book, d));
      }
    }
    m.set(keys.book(this.prefix, this.symbol), JSON.stringify(this.snapshot()));
    await m.exec();
    return deltas;
  }

  snapshot(): BookSnapshot {
    const side = (m: Map<string, string>, desc: boolean) =>
      [...m].sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])))
        .map(([price, qty]) => ({ price, qty, orders: 1 }));
    return {
      symbol: this.symbol,
      seq: this.seq,
      bids: side(this.bids, true),
      asks: side(this.asks, false),
      ts: Date.now(),
    };
  }
}

/** Applies book messages the way a client would; returns the book or throws on a gap. */
export function replayBook(
  messages: Message[],
): { seq: number; bids: Map<string, string>; asks: Map<string, string> } {
  let book: { seq: number; bids: Map<string, string>; asks: Map<string, string> } | undefined;
  for (const m of messages) {
    if (m.type === "snapshot") {
      book = {
        seq: m.seq,
        bids: new Map(m.data.bids.map((l: { price: string; qty: string }) => [l.price, l.qty])),
        asks: new Map(m.data.asks.map((l: { price: string; qty: string }) => [l.price, l.qty])),
      };
    } else if (m.type === "delta") {
      if (!book) throw new Error(`delta ${m.seq} before any snapshot`);
      if (m.seq !== book.seq + 1) throw new Error(`gap: had ${book.seq}, got ${m.seq}`);
      book.seq = m.seq;
      for (const side of ["bids", "asks"] as const) {
        for (const [price, qty] of m.data[side] as [string, string][]) {
          if (qty === "0") book[side].delete(price);
          else book[side].set(price, qty);
        }
      }
    }
  }
  if (!book) throw new Error("no snapshot");
  return book;
}
