/**
 * Bulk inserts with `COPY ... FROM STDIN` over node-postgres (`pg` + `pg-copy-streams`).
 *
 * Why a second driver beside postgres.js: COPY costs PostgreSQL about half the CPU per row of the
 * best single-statement insert (the ledger's `json_populate_recordset`: 7 µs against 13 µs per
 * trade row, docs/benchmarks.md), but postgres.js 3.4.9 drops the server's error for a COPY it
 * rejects, so that write never settles (porsager/postgres#1173). node-postgres reports it like any
 * query error, with its SQLSTATE in `code`.
 * @module
 */
// @ts-types="@types/pg"
import pg from "pg";
// @ts-types="@types/pg-copy-streams"
import { from as copyFrom } from "pg-copy-streams";

/** SQLSTATE of a unique violation: a row with the same key is already there. */
export const UNIQUE_VIOLATION = "23505";

/** A `COPY ... FROM STDIN` text-format field: `\N` for null; backslash, tab, newline and CR escaped. */
export function copyField(value: string | number | null): string {
  if (value === null) return "\\N";
  const text = String(value);
  return /[\\\t\n\r]/.test(text)
    ? text.replace(
      /[\\\t\n\r]/g,
      (c) => c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
    )
    : text;
}

/** The text-format COPY data of `rows`, one line per row with the values of `columns` in order. */
export function copyText<Row extends Record<string, string | number | null>>(
  rows: readonly Row[],
  columns: readonly (keyof Row & string)[],
): string {
  let out = "";
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) {
      out += (i === 0 ? "" : "\t") + copyField(row[columns[i]]);
    }
    out += "\n";
  }
  return out;
}

/** The SQLSTATE of a server error (node-postgres puts it in `code`), or undefined for any other error. */
function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * A small pool of node-postgres connections used only for COPY. Connections open on demand, are
 * reused while healthy, and are dropped on any error that is not the server refusing the data (a
 * lost connection, a timeout), so the next COPY after a database restart simply reconnects.
 */
export class CopyWriter {
  readonly #url: string;
  readonly #connectTimeoutMs: number;
  #idle: pg.Client[] = [];
  readonly #all = new Set<pg.Client>();
  #closed = false;

  constructor(url: string, options: { connectTimeoutMs?: number } = {}) {
    this.#url = url;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  }

  /**
   * Copies `text` (text format, see {@linkcode copyText}) into `table`; resolves with the rows
   * written once the server has committed them. A refused COPY writes nothing and rejects with the
   * server's error (`code` is its SQLSTATE, e.g. {@linkcode UNIQUE_VIOLATION}).
   */
  async copy(table: string, columns: readonly string[], text: string): Promise<number> {
    if (this.#closed) throw new Error("the COPY writer is closed");
    const client = this.#idle.pop() ?? await this.#connect();
    try {
      const stream = client.query(copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN`));
      await new Promise<void>((resolve, reject) => {
        stream.on("error", reject);
        stream.on("finish", resolve);
        stream.end(text);
      });
      this.#release(client);
      return stream.rowCount;
    } catch (e) {
      // the server refused the data: the connection is fine; a connection error (class 08), the
      // server shutting down (57) or no SQLSTATE at all (the socket broke): it is not
      const state = sqlState(e);
      if (state && !state.startsWith("08") && !state.startsWith("57")) this.#release(client);
      else this.#drop(client);
      throw e;
    }
  }

  /** Closes every connection; a COPY under way fails. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#all];
    this.#all.clear();
    this.#idle = [];
    await Promise.allSettled(all.map((c) => c.end()));
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: this.#connectTimeoutMs,
    });
    // an idle connection the server ends (a restart) emits "error"; unhandled, it would end the process
    client.on("error", () => this.#drop(client));
    this.#all.add(client);
    try {
      await client.connect();
    } catch (e) {
      this.#drop(client);
      throw e;
    }
    return client;
  }

  #release(client: pg.Client): void {
    if (this.#closed || !this.#all.has(client)) void client.end().catch(() => {});
    else this.#idle.push(client);
  }

  #drop(client: pg.Client): void {
    this.#all.delete(client);
    this.#idle = this.#idle.filter((c) => c !== client);
    void client.end().catch(() => {});
  }
}
