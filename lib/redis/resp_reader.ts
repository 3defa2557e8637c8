/**
 * A minimal Redis connection that only reads one stream with plain XREAD, for the matching engine's
 * command stream. node-redis spends about 3 µs an entry on such a read under Deno (its decoder, a
 * promise per reply, the node:net stream layer); here the reply is parsed straight from the bytes.
 * It reconnects by itself: a read after a failure opens a new connection.
 * @module
 */
import { parseRedisUrl, RespEncoder, respInt } from "./resp_batch.ts";
import type { RawEntry } from "./mod.ts";

const CR = 13;
const decoder = new TextDecoder();

/** Reads the entries after an id of one stream. */
export interface StreamReader {
  /** Up to `count` entries after `after`, waiting up to `blockMs` for the first; [] on timeout. */
  read(key: string, after: string, count: number, blockMs: number): Promise<RawEntry[]>;
  close(): void;
}

/** Returned by the parser when the reply has not fully arrived. */
const MORE = Symbol("more");
type Value = string | number | null | Value[];

/** Connection options of a redis:// URL (TLS is not offered here: node-redis reads rediss://). */
function parseUrl(url: string) {
  const o = parseRedisUrl(url);
  if (o.tls) throw new TypeError("RespStreamReader reads redis:// URLs only, not rediss:");
  return o;
}

export class RespStreamReader implements StreamReader, Disposable {
  readonly #url: string;
  #conn: Deno.Conn | undefined;
  #in = new Uint8Array(1 << 18);
  #end = 0;
  readonly #encoder = new RespEncoder();
  #busy = false;
  #closed = false;

  constructor(url: string) {
    this.#url = url;
    parseUrl(url); // refuse a bad URL now, not at the first read
  }

  async read(key: string, after: string, count: number, blockMs: number): Promise<RawEntry[]> {
    if (this.#closed) throw new Error("the stream reader is closed");
    if (this.#busy) throw new Error("RespStreamReader.read() is already running");
    this.#busy = true;
    try {
      const reply = await this.#command([
        "XREAD",
        "COUNT",
        String(count),
        "BLOCK",
        String(blockMs),
        "STREAMS",
        key,
        after,
      ]);
      return entriesOf(reply);
    } catch (e) {
      // whatever state the connection is in, the next read starts on a fresh one
      this.#drop();
      throw e;
    } finally {
      this.#busy = false;
    }
  }

  close(): void {
    this.#closed = true;
    this.#drop();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #drop(): void {
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    this.#conn = undefined;
    this.#end = 0;
  }

  async #command(args: string[]): Promise<Value> {
    if (!this.#conn) await this.#connect();
    this.#encoder.reset();
    this.#encoder.command(args);
    await this.#write(this.#encoder.bytes);
    return await this.#reply();
  }

  async #connect(): Promise<void> {
    const o = parseUrl(this.#url);
    this.#conn = await Deno.connect({ hostname: o.hostname, port: o.port });
    this.#end = 0;
    const setup: string[][] = [];
    if (o.password) setup.push(o.username ? ["AUTH", o.username, o.password] : ["AUTH", o.password]);
    if (o.db) setup.push(["SELECT", String(o.db)]);
    for (const s of setup) {
      this.#encoder.reset();
      this.#encoder.command(s);
      await this.#write(this.#encoder.bytes);
      try {
        await this.#reply();
      } catch (e) {
        throw new Error(`Redis refused ${s[0]}: ${(e as Error).message}`);
      }
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn!.write(bytes.subarray(off));
  }

  /** Reads one whole reply; an error reply is thrown. */
  async #reply(): Promise<Value> {
    for (;;) {
      // a scan without decoding says whether the whole reply is in; only then is it parsed
      const r = skip(this.#in, 0, this.#end) === MORE ? MORE : parse(this.#in, 0, this.#end);
      if (r !== MORE) {
        const [value, next] = r;
        // one command at a time: nothing follows the reply
        this.#in.copyWithin(0, next, this.#end);
        this.#end -= next;
        if (value instanceof RedisReplyError) throw value;
        return value;
      }
      if (this.#end === this.#in.length) {
        const bigger = new Uint8Array(this.#in.length * 2);
        bigger.set(this.#in);
        this.#in = bigger;
      }
      const n = await this.#conn!.read(this.#in.subarray(this.#end));
      if (n === null) throw new Error("Redis closed the connection");
      this.#end += n;
    }
  }
}

/** An error reply (`-ERR ...`). */
class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisReplyError";
  }
}

/** Where the RESP2 reply at `p` ends, or MORE when it is cut; decodes nothing. */
function skip(b: Uint8Array, p: number, end: number): number | typeof MORE {
  if (p >= end) return MORE;
  const eol = b.indexOf(CR, p);
  if (eol < 0 || eol + 1 >= end) return MORE;
  const next = eol + 2;
  const type = b[p];
  if (type === 36) {
    const len = respInt(b, p + 1, eol);
    if (len < 0) return next;
    return next + len + 2 > end ? MORE : next + len + 2;
  }
  if (type === 42) {
    const n = respInt(b, p + 1, eol);
    let q: number | typeof MORE = next;
    for (let i = 0; i < n && q !== MORE; i++) q = skip(b, q, end);
    return q;
  }
  return next;
}

/** Parses one RESP2 reply at `p`: the value and where the next begins, or MORE when it is cut. */
function parse(b: Uint8Array, p: number, end: number): [Value | RedisReplyError, number] | typeof MORE {
  if (p >= end) return MORE;
  const eol = b.indexOf(CR, p);
  if (eol < 0 || eol + 1 >= end) return MORE;
  const type = b[p];
  const next = eol + 2;
  switch (type) {
    case 36: { // $ bulk string
      const len = respInt(b, p + 1, eol);
      if (len < 0) return [null, next];
      if (next + len + 2 > end) return MORE;
      return [decoder.decode(b.subarray(next, next + len)), next + len + 2];
    }
    case 42: { // * array
      const n = respInt(b, p + 1, eol);
      if (n < 0) return [null, next];
      const items: Value[] = new Array(n);
      let q = next;
      for (let i = 0; i < n; i++) {
        const r = parse(b, q, end);
        if (r === MORE) return MORE;
        if (r[0] instanceof RedisReplyError) return r;
        items[i] = r[0];
        q = r[1];
      }
      return [items, q];
    }
    case 43: // + simple string
      return [decoder.decode(b.subarray(p + 1, eol)), next];
    case 58: // : integer
      return [respInt(b, p + 1, eol), next];
    case 45: // - error
      return [new RedisReplyError(decoder.decode(b.subarray(p + 1, eol))), next];
    default:
      throw new Error(`unexpected RESP type byte ${type} from Redis`);
  }
}

/** The entries of an XREAD reply for one stream: [[key, [[id, [field, value, ...]], ...]]] or null. */
function entriesOf(reply: Value): RawEntry[] {
  if (reply === null) return [];
  const streams = reply as Value[];
  const list = (streams[0] as Value[] | undefined)?.[1] as Value[] | undefined;
  if (!list) return [];
  const out: RawEntry[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const [id, fields] = list[i] as [string, (string[] | null)];
    const message: Record<string, string> = {};
    if (fields) { for (let f = 0; f + 1 < fields.length; f += 2) message[fields[f]!] = fields[f + 1]!; }
    out[i] = { id, message };
  }
  return out;
}

/** A {@linkcode StreamReader} over a node-redis client (rediss:// URLs); its owner closes the client. */
export function nodeRedisStreamReader(
  client: { xRead(...args: unknown[]): Promise<unknown>; close?(): Promise<unknown> },
): StreamReader {
  return {
    async read(key, after, count, blockMs) {
      const res = await client.xRead({ key, id: after }, { COUNT: count, BLOCK: blockMs }) as
        | { messages: RawEntry[] }[]
        | null;
      return res?.[0]?.messages ?? [];
    },
    close() {},
  };
}
