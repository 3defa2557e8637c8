/**
 * The ledger writer's PostgreSQL side. Trades and order events go in by COPY when a
 * {@linkcode CopyWriter} is given (half PostgreSQL's CPU per row of any INSERT measured); funding
 * postings, and every batch COPY cannot take, by ONE SQL statement whose data-modifying CTEs insert
 * the rows and move the consumer's offset. Either way a redelivered batch inserts nothing new: trade
 * ids and stream ids are primary keys, so a COPY of a batch that holds a stored row is refused whole,
 * and the batch is then written by the statement with ON CONFLICT DO NOTHING, which also finds trade
 * ids reused with other content.
 *
 * The offset row (`consumer_offsets`, kept for audits and `tools verify`) moves in the same statement
 * as the rows, or right after a COPY commits; after a crash between the two it lags by one batch and
 * never runs ahead of the rows. Acknowledgement to Redis comes after both.
 *
 * Why single statements rather than `sql.begin()`: with postgres.js 3.4.9 a transaction whose
 * connection dies (a database restart) takes the whole process down with an uncatchable error
 * (porsager/postgres#1208). A single statement runs on a pooled connection that is simply replaced
 * when it dies, and fails like any query. The batch travels as one JSON parameter expanded by
 * `json_populate_recordset`, which keeps the client's work to one `JSON.stringify`.
 * @module
 */
import type { Execution, OrderEvent, WalletEvent } from "@lib/contracts";
import { copyText, type CopyWriter, type Sql, UNIQUE_VIOLATION } from "@lib/db";
import {
  fundingPostings,
  invalidTradeReason,
  latestPerOrder,
  ORDER_EVENT_COLUMNS,
  orderEventRow,
  orderRow,
  sameTrade,
  splitStreamId,
  TRADE_COLUMNS,
  type TradeRow,
  tradeRow,
} from "./rows.ts";

/** What one trade batch did. */
export interface TradeWriteResult {
  inserted: number;
  /** Trade ids already in the ledger (or twice in the batch) with different content; never overwritten. */
  conflicts: string[];
  /** Entries that cannot be stored (a value out of the columns' range), with the reason; not written. */
  rejected: { id: string; reason: string }[];
  via: WriteVia;
}

/**
 * How a batch went in: by COPY; by the INSERT statement (no COPY writer, or nothing to copy); or by
 * the INSERT statement after COPY refused it because a row of it was stored already (a redelivery).
 */
export type WriteVia = "copy" | "insert" | "insert-after-copy";

export interface LedgerStoreOptions {
  /** Name stored in consumer_offsets (the consumer group). */
  consumer: string;
  /** Account that receives the fees (the engine's KALENCY_FEE_ACCOUNT). */
  feeAccount: string;
  /** Writes new trades and order events by COPY; without it every batch goes through INSERT. */
  copy?: CopyWriter;
}

/** Writes trades, funding postings and order events, each batch in one statement with its offset. */
export class LedgerStore {
  readonly #sql: Sql;
  readonly #options: LedgerStoreOptions;

  constructor(sql: Sql, options: LedgerStoreOptions) {
    this.#sql = sql;
    this.#options = options;
  }

  /** The offset CTE: moves (consumer, stream) forward to `lastId`, never back. */
  #offset(stream: string, lastId: string) {
    const { ms, seq } = splitStreamId(lastId);
    return this.#sql`
      INSERT INTO consumer_offsets (consumer, stream, last_id, last_ms, last_seq, updated_at)
      VALUES (${this.#options.consumer}, ${stream}, ${lastId}, ${ms}, ${seq}, now())
      ON CONFLICT (consumer, stream) DO UPDATE SET last_id = EXCLUDED.last_id, last_ms = EXCLUDED.last_ms,
        last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at
      WHERE (consumer_offsets.last_ms, consumer_offsets.last_seq) < (EXCLUDED.last_ms, EXCLUDED.last_seq)
      RETURNING 1`;
  }

  /**
   * COPYs `rows` into `table` when there is a COPY writer and something to write. Resolves with the
   * rows written, or with undefined when there is nothing to do by COPY or COPY refused the batch
   * because a row of it is stored already; any other failure is thrown.
   */
  async #copy<Row extends Record<string, string | number | null>>(
    table: string,
    columns: readonly (keyof Row & string)[],
    rows: readonly Row[],
  ): Promise<number | undefined> {
    if (!this.#options.copy || rows.length === 0) return undefined;
    try {
      return await this.#options.copy.copy(table, columns, copyText(rows, columns));
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) return undefined;
      throw e;
    }
  }

  /** How a batch that did not go in by COPY was written. */
  #insertVia(rows: number): WriteVia {
    return this.#options.copy && rows > 0 ? "insert-after-copy" : "insert";
  }

  /** Writes a batch of executions and the offset `lastId` of `stream` atomically. */
  async writeTrades(
    stream: string,
    batch: readonly { id: string; value: Execution }[],
    lastId: string,
  ): Promise<TradeWriteResult> {
    const rejected: { id: string; reason: string }[] = [];
    const conflicts = new Set<string>();
    const index = new Map<string, number>();
    const rows: TradeRow[] = [];
    for (const b of batch) {
      const reason = invalidTradeReason(b.value);
      if (reason) {
        rejected.push({ id: b.id, reason });
        continue;
      }
      const row = tradeRow(b.value, b.id, this.#options.feeAccount);
      const earlier = index.get(row.trade_id);
      if (earlier !== undefined) {
        if (!sameTrade(rows[earlier], row)) conflicts.add(row.trade_id);
        continue;
      }
      index.set(row.trade_id, rows.length);
      rows.push(row);
    }
    const copied = await this.#copy("trade_ledger", TRADE_COLUMNS, rows);
    if (copied !== undefined) {
      await this.#offset(stream, lastId);
      return { inserted: copied, conflicts: [...conflicts], rejected, via: "copy" };
    }
    // no COPY, or a trade of the batch is stored already (a redelivery): the statement sorts it out
    const json = JSON.stringify(rows);
    const [r] = await this.#sql<{ inserted: number }[]>`
      WITH ins AS (
        INSERT INTO trade_ledger
        SELECT * FROM json_populate_recordset(NULL::trade_ledger, (${json}::text)::json)
        ON CONFLICT (trade_id) DO NOTHING RETURNING 1
      ), off AS (${this.#offset(stream, lastId)})
      SELECT count(*)::int AS inserted FROM ins`;
    if (r.inserted < rows.length) {
      // some were there already (a redelivery, or a trade published twice): any with other content?
      const found = await this.#sql<{ trade_id: string }[]>`
        SELECT i.trade_id FROM json_populate_recordset(NULL::trade_ledger, (${json}::text)::json) i
        JOIN trade_ledger t USING (trade_id)
        WHERE (t.symbol, t.seq, t.price, t.qty, t.quote_qty, t.buy_user_id, t.sell_user_id, t.maker_fee, t.taker_fee)
          IS DISTINCT FROM
              (i.symbol, i.seq, i.price, i.qty, i.quote_qty, i.buy_user_id, i.sell_user_id, i.maker_fee, i.taker_fee)`;
      for (const f of found) conflicts.add(f.trade_id);
    }
    return { inserted: r.inserted, conflicts: [...conflicts], rejected, via: this.#insertVia(rows.length) };
  }

  /** Writes the funding postings of a batch of wallet events and the offset atomically. */
  async writeWalletEvents(
    stream: string,
    batch: readonly { id: string; value: WalletEvent }[],
    lastId: string,
  ): Promise<number> {
    const rows = fundingPostings(batch).map((p) => ({
      ref: p.ref,
      leg: p.leg,
      kind: p.kind,
      account: p.account,
      asset: p.asset,
      amount: p.amount,
      posted_at: new Date(p.postedAt).toISOString(),
    }));
    const [r] = await this.#sql<{ inserted: number }[]>`
      WITH ins AS (
        INSERT INTO balance_postings
        SELECT * FROM json_populate_recordset(NULL::balance_postings, (${JSON.stringify(rows)}::text)::json)
        ON CONFLICT (ref, leg) DO NOTHING RETURNING 1
      ), off AS (${this.#offset(stream, lastId)})
      SELECT count(*)::int AS inserted FROM ins`;
    return r.inserted;
  }

  /**
   * Writes order events, the orders' latest state and the offset. New events go in by COPY when a
   * COPY writer is given, then the orders and the offset in one statement; a batch COPY refuses (an
   * event stored already) and every batch without a COPY writer is one statement for all three.
   */
  async writeOrderEvents(
    stream: string,
    batch: readonly { id: string; value: OrderEvent }[],
    lastId: string,
  ): Promise<{ inserted: number; via: WriteVia }> {
    const events = batch.map((b) => orderEventRow(b.value, b.id));
    // one row per order, in a fixed order so that concurrent batches lock rows without deadlocks
    const orders = JSON.stringify(
      latestPerOrder(batch)
        .sort((a, b) => a.value.order.orderId < b.value.order.orderId ? -1 : 1)
        .map(({ id, value }) => orderRow(value, id)),
    );
    const upsert = this.#sql`
      INSERT INTO orders
      SELECT * FROM json_populate_recordset(NULL::orders, (${orders}::text)::json)
      ON CONFLICT (order_id) DO UPDATE SET client_order_id = EXCLUDED.client_order_id,
        price = EXCLUDED.price, qty = EXCLUDED.qty, quote_qty = EXCLUDED.quote_qty,
        filled_qty = EXCLUDED.filled_qty, filled_quote = EXCLUDED.filled_quote, avg_price = EXCLUDED.avg_price,
        status = EXCLUDED.status, expire_reason = EXCLUDED.expire_reason, updated_at = EXCLUDED.updated_at,
        version = EXCLUDED.version
      WHERE orders.version < EXCLUDED.version
      RETURNING 1`;
    const copied = this.#options.copy && events.length > 0
      ? await this.#copy(
        "order_events",
        ORDER_EVENT_COLUMNS,
        events.map((e) => ({ ...e, body: JSON.stringify(e.body) })),
      )
      : undefined;
    if (copied !== undefined) {
      await this.#sql`WITH ord AS (${upsert}), off AS (${this.#offset(stream, lastId)}) SELECT 1`;
      return { inserted: copied, via: "copy" };
    }
    // no COPY, or an event of the batch is stored already (a redelivery): one statement for all three
    const [r] = await this.#sql<{ inserted: number }[]>`
      WITH ev AS (
        INSERT INTO order_events
        SELECT * FROM json_populate_recordset(NULL::order_events, (${JSON.stringify(events)}::text)::json)
        ON CONFLICT (stream_id) DO NOTHING RETURNING 1
      ), ord AS (${upsert}), off AS (${this.#offset(stream, lastId)})
      SELECT count(*)::int AS inserted FROM ev`;
    return { inserted: r.inserted, via: this.#insertVia(events.length) };
  }
}
