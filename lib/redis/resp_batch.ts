/**
 * A minimal Redis connection for one job: sending a whole batch as MULTI ... EXEC in one write and
 * reading the answer back. Through node-redis each command of a batch costs a promise, its own
 * encoding and, under Deno, a write through the node:net layer; here a batch is encoded straight
 * into one byte buffer, written with one native write, and the replies are scanned without
 * decoding, keeping only errors and the last reply.
 *
 * The matching engine commits each batch of outputs with it (about 10 commands per applied command,
 * the checkpoint's SET ... GET last); the gateway writes its coalesced commands with it. Everything
 * else (reads, blocking reads, snapshots) stays on node-redis.
 * @module
 */

const CR = 13;
const LF = 10;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What EXEC answered: the replies that were errors, and the last reply (a bulk string or null). */
export interface ExecResult {
  errors: { index: number; message: string }[];
  last: string | null;
}

/** Something that commits a batch of commands as one MULTI/EXEC. */
export interface BatchConnection {
  exec(commands: readonly (readonly string[])[]): Promise<ExecResult>;
  close(): void;
}

/** An error reply to the transaction as a whole (EXECABORT: a command was refused while queueing). */
export class TransactionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransactionError";
  }
}

/**
 * Encodes commands as RESP arrays of bulk strings straight into one growing byte buffer. Each
 * argument is written where it goes: short ones char by char, long ones (JSON payloads) with
 * `TextEncoder.encodeInto`; the length header assumes ASCII (one byte per char, nearly every
 * argument) and is corrected, moving the bytes when its digit count changes, when the text was not.
 */
export class RespEncoder {
  #buf = new Uint8Array(1 << 20);
  #o = 0;

  reset(): void {
    this.#o = 0;
  }

  get bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#o);
  }

  #ensure(n: number): void {
    if (this.#o + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#o + n));
    next.set(this.#buf.subarray(0, this.#o));
    this.#buf = next;
  }

  command(args: readonly string[]): void {
    this.#ensure(16);
    this.#header(42, args.length); // *
    for (let i = 0; i < args.length; i++) this.#arg(args[i]!);
  }

  #arg(a: string): void {
    const n = a.length;
    // at most 3 bytes per UTF-16 unit, plus the header and CRLF
    this.#ensure(n * 3 + 24);
    const b = this.#buf;
    const head = this.#o;
    this.#header(36, n); // $
    let start = this.#o;
    let written = -1;
    if (n <= 64) {
      let o = start;
      for (let i = 0; i < n; i++) {
        const c = a.charCodeAt(i);
        if (c >= 0x80) {
          o = -1;
          break;
        }
        b[o++] = c;
      }
      if (o >= 0) written = n;
    }
    if (written < 0) {
      written = encoder.encodeInto(a, b.subarray(start)).written;
      if (written !== n) {
        // not ASCII: rewrite the header with the byte length, shifting the bytes if it grew
        const digits = String(written).length;
        const shift = digits - String(n).length;
        if (shift !== 0) b.copyWithin(start + shift, start, start + written);
        this.#o = head;
        this.#header(36, written);
        start = this.#o;
      }
    }
    this.#o = start + written;
    b[this.#o++] = CR;
    b[this.#o++] = LF;
  }

  #header(type: number, n: number): void {
    const b = this.#buf;
    b[this.#o++] = type;
    if (n < 10) b[this.#o++] = 48 + n;
    else {
      const digits = String(n);
      for (let i = 0; i < digits.length; i++) b[this.#o++] = digits.charCodeAt(i);
    }
    b[this.#o++] = CR;
    b[this.#o++] = LF;
  }
}

/** The decimal integer of a RESP header (`*3`, `$-1`, `:12`) between `from` and `to`. */
export function respInt(b: Uint8Array, from: number, to: number): number {
  let v = 0;
  let neg = false;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c === 45) neg = true;
    else v = v * 10 + c - 48;
  }
  return neg ? -v : v;
}

/** Connection options read from a redis:// or rediss:// URL. */
export function parseRedisUrl(url: string) {
  const u = new URL(url);
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new TypeError(`not a redis URL: ${url}`);
  return {
    hostname: u.hostname || "127.0.0.1",
    port: Number(u.port || 6379),
    tls: u.protocol === "rediss:",
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    db: Number(u.pathname.slice(1) || 0),
  };
}

/** One connection that runs MULTI/EXEC batches, one at a time. */
export class RespBatchConnection implements BatchConnection, Disposable {
  readonly #conn: Deno.Conn;
  #in = new Uint8Array(1 << 16);
  #start = 0;
  #end = 0;
  readonly #encoder = new RespEncoder();
  #busy = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects (TLS for rediss://), authenticates and selects the database as the URL says. */
  static async connect(url: string): Promise<RespBatchConnection> {
    const o = parseRedisUrl(url);
    const conn = o.tls
      ? await Deno.connectTls({ hostname: o.hostname, port: o.port })
      : await Deno.connect({ hostname: o.hostname, port: o.port });
    const c = new RespBatchConnection(conn);
    try {
      const setup: string[][] = [];
      if (o.password) setup.push(o.username ? ["AUTH", o.username, o.password] : ["AUTH", o.password]);
      if (o.db) setup.push(["SELECT", String(o.db)]);
      if (setup.length) {
        for (const s of setup) c.#encoder.command(s);
        await c.#write(c.#encoder.bytes);
        for (let i = 0; i < setup.length; i++) {
          const line = await c.#line();
          if (line.startsWith("-")) throw new Error(`Redis refused ${setup[i][0]}: ${line.slice(1)}`);
        }
      }
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Sends `MULTI`, the commands and `EXEC` in one write and reads the answer. Throws
   * {@linkcode TransactionError} when Redis refused the transaction, any other error when the
   * connection failed (the transaction may or may not have run; the caller finds out).
   */
  async exec(commands: readonly (readonly string[])[]): Promise<ExecResult> {
    if (this.#busy) throw new Error("RespBatchConnection.exec() is already running");
    this.#busy = true;
    try {
      const enc = this.#encoder;
      enc.reset();
      enc.command(["MULTI"]);
      for (const c of commands) enc.command(c);
      enc.command(["EXEC"]);
      await this.#write(enc.bytes);
      return await this.#readExec(commands.length);
    } finally {
      this.#busy = false;
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  async #fill(): Promise<void> {
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#in.length) {
      const live = this.#end - this.#start;
      if (live * 2 > this.#in.length) {
        const next = new Uint8Array(this.#in.length * 2);
        next.set(this.#in.subarray(this.#start, this.#end));
        this.#in = next;
      } else this.#in.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = live;
    }
    const n = await this.#conn.read(this.#in.subarray(this.#end));
    if (n === null) throw new Error("Redis closed the connection");
    this.#end += n;
  }

  /** Index of the CR ending the line at `from`, or -1 when the line is not complete yet. */
  #eol(from: number): number {
    const i = this.#in.indexOf(CR, from);
    return i >= 0 && i + 1 < this.#end ? i : -1;
  }

  async #line(): Promise<string> {
    for (;;) {
      const e = this.#eol(this.#start);
      if (e >= 0) {
        const text = decoder.decode(this.#in.subarray(this.#start, e));
        this.#start = e + 2;
        return text;
      }
      await this.#fill();
    }
  }

  #int(from: number, to: number): number {
    return respInt(this.#in, from, to);
  }

  /**
   * Takes one flat reply (simple string, error, integer, bulk string, null) off the buffer, or returns
   * undefined when it has not fully arrived. `keep`: decode its text (errors are always decoded).
   */
  #take(keep: boolean): { type: number; text: string | null } | undefined {
    const p = this.#start;
    const e = this.#eol(p);
    if (e < 0) return undefined;
    const type = this.#in[p];
    let next = e + 2;
    let text: string | null = null;
    if (type === 36) { // $
      const len = this.#int(p + 1, e);
      if (len >= 0) {
        next = e + 2 + len + 2;
        if (next > this.#end) return undefined;
        if (keep) text = decoder.decode(this.#in.subarray(e + 2, e + 2 + len));
      }
    } else if (type === 42) { // *: our commands never answer with an array, except EXEC itself
      if (this.#int(p + 1, e) > 0) throw new Error("unexpected nested reply in EXEC");
    } else if (keep || type === 45) {
      text = decoder.decode(this.#in.subarray(p + 1, e));
    }
    this.#start = next;
    return { type, text };
  }

  /**
   * Reads +OK, n x +QUEUED, then the EXEC array of n flat replies. Parsing goes reply by reply over
   * whatever has arrived, waiting for more bytes only when a reply is cut.
   */
  async #readExec(n: number): Promise<ExecResult> {
    let queueError: string | undefined;
    for (let i = 0; i < n + 1;) {
      const r = this.#take(false);
      if (!r) {
        await this.#fill();
        continue;
      }
      if (r.type === 45) queueError ??= r.text!;
      i++;
    }
    const head = await this.#line();
    if (head.startsWith("-")) {
      throw new TransactionError(queueError ? `${head.slice(1)} (${queueError})` : head.slice(1));
    }
    if (head === "*-1") throw new TransactionError("EXEC returned null (a watched key changed)");
    const count = Number(head.slice(1));
    const errors: ExecResult["errors"] = [];
    let last: string | null = null;
    for (let i = 0; i < count;) {
      const r = this.#take(i === count - 1);
      if (!r) {
        await this.#fill();
        continue;
      }
      if (r.type === 45) errors.push({ index: i, message: r.text! });
      if (i === count - 1) last = r.type === 45 ? null : r.text;
      i++;
    }
    return { errors, last };
  }
}
