/**
 * The ledger writer's PostgreSQL side. Each batch is one transaction that writes its rows and moves
 * the consumer's offset, so a row exists if and only if the offset covering it was stored.
 *
 * Trades take one of two paths. A batch of entries never delivered before is checked against the
 * primary key and, when none is there yet (the normal case), COPYed straight into `trade_ledger`
 * (the fast path). Redelivered batches (after a crash), or fresh ones that meet a trade id already
 * written, are COPYed into a temporary table and merged with INSERT ... ON CONFLICT DO NOTHING,
 * which also reports any trade id that is already there with different content.
 *
 * postgres.js 3.4.9 never settles a COPY that the server rejects (porsager/postgres#1173), so rows
 * are validated before they are sent and every COPY runs under a watchdog that fails the
 * transaction (rolled back, retried) instead of hanging.
 * @module
 */
import type { Execution, OrderEvent, WalletEvent } from "@lib/contracts";
import type { Sql } from "@lib/db";
import type postgres from "postgres";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  fundingPostings,
  invalidTradeReason,
  latestPerOrder,
  splitStreamId,
  streamVersion,
  TRADE_COLUMNS,
  tradeCopyLine,
} from "./rows.ts";

type Tx = postgres.TransactionSql<Record<string, never>>;

/** What one trade batch did. */
export interface TradeWriteResult {
  path: "copy" | "merge";
  inserted: number;
  /** Trade ids already in the ledger with different content (never overwritten). */
  conflicts: string[];
  /** Entries that cannot be stored (a value out of the columns' range), with the reason; not written. */
  rejected: { id: string; reason: string }[];
}

export interface LedgerStoreOptions {
  /** Name stored in consumer_offsets (the consumer group). */
  consumer: string;
  /** Account that receives the fees (the engine's KALENCY_FEE_ACCOUNT). */
  feeAccount: string;
  /** A COPY that has not finished after this long fails its transaction. @default {15000} */
  copyTimeoutMs?: number;
}

const COLUMNS = TRADE_COLUMNS.join(", ");

/** Thrown when a COPY did not settle in time (the server rejected it, or the connection died). */
export class CopyTimeoutError extends Error {
  constructor(ms: number) {
    super(`COPY did not complete within ${ms} ms; the transaction is abandoned and retried`);
    this.name = "CopyTimeoutError";
  }
}

async function copyInto(tx: Tx, table: string, text: string, timeoutMs: number): Promise<void> {
  const writable = await tx.unsafe(`COPY ${table} (${COLUMNS}) FROM STDIN`).writable();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CopyTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    await Promise.race([pipeline(Readable.from([text]), writable), watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes trades, funding postings and order events, each batch in one transaction with its offset. */
export class LedgerStore {
  readonly #sql: Sql;
  readonly #options: LedgerStoreOptions;
  readonly #copyTimeoutMs: number;

  constructor(sql: Sql, options: LedgerStoreOptions) {
    this.#sql = sql;
    this.#options = options;
    this.#copyTimeoutMs = options.copyTimeoutMs ?? 15_000;
  }

  async #saveOffset(tx: Tx, stream: string, lastId: string): Promise<void> {
    const { ms, seq } = splitStreamId(lastId);
    await tx`
      INSERT INTO consumer_offsets (consumer, stream, last_id, last_ms, last_seq, updated_at)
      VALUES (${this.#options.consumer}, ${stream}, ${lastId}, ${ms}, ${seq}, now())
      ON CONFLICT (consumer, stream) DO UPDATE SET last_id = EXCLUDED.last_id, last_ms = EXCLUDED.last_ms,
        last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at
      WHERE (consumer_offsets.last_ms, consumer_offsets.last_seq) < (EXCLUDED.last_ms, EXCLUDED.last_seq)`;
  }

  /**
   * Writes a batch of executions and the offset `lastId` of `stream` in one transaction.
   * @param info.fresh the entries were never delivered before, so the fast path may be tried
   */
  async writeTrades(
    stream: string,
    batch: readonly { id: string; value: Execution }[],
    lastId: string,
    info: { fresh: boolean } = { fresh: false },
  ): Promise<TradeWriteResult> {
    const rejected: { id: string; reason: string }[] = [];
    const ids = new Set<string>();
    let duplicateInBatch = false;
    let text = "";
    for (const b of batch) {
      const reason = invalidTradeReason(b.value);
      if (reason) {
        rejected.push({ id: b.id, reason });
        continue;
      }
      if (ids.has(b.value.tradeId)) duplicateInBatch = true;
      ids.add(b.value.tradeId);
      text += tradeCopyLine(b.value, b.id, this.#options.feeAccount);
    }
    const count = ids.size;
    const timeout = this.#copyTimeoutMs;
    return await this.#sql.begin(async (tx) => {
      let result: TradeWriteResult | undefined;
      if (count > 0 && info.fresh && !duplicateInBatch) {
        const existing = await tx`SELECT 1 FROM trade_ledger WHERE trade_id = ANY(${[
          ...ids,
        ]}::text[]) LIMIT 1`;
        if (existing.length === 0) {
          await copyInto(tx, "trade_ledger", text, timeout);
          result = { path: "copy", inserted: count, conflicts: [], rejected };
        }
      }
      if (!result && count > 0) {
        await tx`CREATE TEMP TABLE IF NOT EXISTS trade_stage (LIKE trade_ledger) ON COMMIT DELETE ROWS`;
        await copyInto(tx, "trade_stage", text, timeout);
        const ins = await tx.unsafe(
          `INSERT INTO trade_ledger (${COLUMNS}) SELECT DISTINCT ON (trade_id) ${COLUMNS} FROM trade_stage
           ORDER BY trade_id ON CONFLICT (trade_id) DO NOTHING`,
        );
        let conflicts: string[] = [];
        if (ins.count < batch.length) {
          const rows = await tx<{ trade_id: string }[]>`
            SELECT s.trade_id FROM trade_stage s JOIN trade_ledger t USING (trade_id)
            WHERE (t.symbol, t.seq, t.price, t.qty, t.quote_qty, t.buy_user_id, t.sell_user_id, t.maker_fee, t.taker_fee)
              IS DISTINCT FROM
                  (s.symbol, s.seq, s.price, s.qty, s.quote_qty, s.buy_user_id, s.sell_user_id, s.maker_fee, s.taker_fee)`;
          conflicts = [...new Set(rows.map((r) => r.trade_id))];
        }
        result = { path: "merge", inserted: ins.count, conflicts, rejected };
      }
      await this.#saveOffset(tx, stream, lastId);
      return result ?? { path: "copy" as const, inserted: 0, conflicts: [], rejected };
    });
  }

  /** Writes the funding postings of a batch of wallet events (and the offset) in one transaction. */
  async writeWalletEvents(
    stream: string,
    batch: readonly { id: string; value: WalletEvent }[],
    lastId: string,
  ): Promise<number> {
    const postings = fundingPostings(batch);
    let inserted = 0;
    await this.#sql.begin(async (tx) => {
      if (postings.length > 0) {
        const col = <T>(f: (p: (typeof postings)[number]) => T) => postings.map(f);
        const r = await tx`
          INSERT INTO balance_postings (ref, leg, kind, account, asset, amount, posted_at)
          SELECT * FROM unnest(${col((p) => p.ref)}::text[], ${col((p) => p.leg)}::smallint[],
            ${col((p) => p.kind)}::text[], ${col((p) => p.account)}::text[], ${col((p) => p.asset)}::text[],
            ${col((p) => p.amount)}::numeric[], ${
          col((p) => new Date(p.postedAt).toISOString())
        }::timestamptz[])
          ON CONFLICT (ref, leg) DO NOTHING`;
        inserted = r.count;
      }
      await this.#saveOffset(tx, stream, lastId);
    });
    return inserted;
  }

  /** Writes order events and the orders' latest state (and the offset) in one transaction. */
  async writeOrderEvents(
    stream: string,
    batch: readonly { id: string; value: OrderEvent }[],
    lastId: string,
  ): Promise<number> {
    let inserted = 0;
    await this.#sql.begin(async (tx) => {
      if (batch.length > 0) {
        const ev = <T>(f: (b: (typeof batch)[number]) => T) => batch.map(f);
        const r = await tx`
          INSERT INTO order_events (stream_id, order_id, event, status, trade_id, at, body)
          SELECT * FROM unnest(${ev((b) => b.id)}::text[], ${ev((b) => b.value.order.orderId)}::text[],
            ${ev((b) => b.value.event)}::text[], ${ev((b) => b.value.order.status)}::text[],
            ${ev((b) => b.value.tradeId ?? null)}::text[],
            ${ev((b) => new Date(b.value.ts).toISOString())}::timestamptz[],
            ${ev((b) => JSON.stringify(b.value.order))}::jsonb[])
          ON CONFLICT (stream_id) DO NOTHING`;
        inserted = r.count;
        // one row per order, in a fixed order so that concurrent batches lock rows without deadlocks
        const latest = latestPerOrder(batch).sort((a, b) =>
          a.value.order.orderId < b.value.order.orderId
            ? -1
            : a.value.order.orderId > b.value.order.orderId
            ? 1
            : 0
        );
        const o = <T>(f: (b: (typeof latest)[number]["value"]["order"], id: string) => T) =>
          latest.map((b) => f(b.value.order, b.id));
        await tx`
          INSERT INTO orders (order_id, client_order_id, user_id, symbol, side, type, time_in_force, price, qty,
            quote_qty, filled_qty, filled_quote, avg_price, status, expire_reason, created_at, updated_at, version)
          SELECT * FROM unnest(${o((a) => a.orderId)}::text[], ${o((a) => a.clientOrderId ?? null)}::text[],
            ${o((a) => a.userId)}::text[], ${o((a) => a.symbol)}::text[], ${o((a) => a.side)}::text[],
            ${o((a) => a.type)}::text[], ${o((a) => a.timeInForce)}::text[], ${
          o((a) => a.price ?? null)
        }::numeric[],
            ${o((a) => a.qty)}::numeric[], ${o((a) => a.quoteQty ?? null)}::numeric[],
            ${o((a) => a.filledQty)}::numeric[], ${o((a) => a.filledQuote)}::numeric[],
            ${o((a) => a.avgPrice)}::numeric[], ${o((a) => a.status)}::text[],
            ${o((a) => a.expireReason ?? null)}::text[],
            ${o((a) => new Date(a.createdAt).toISOString())}::timestamptz[],
            ${o((a) => new Date(a.ts).toISOString())}::timestamptz[], ${
          o((_a, id) => streamVersion(id))
        }::text[])
          ON CONFLICT (order_id) DO UPDATE SET client_order_id = EXCLUDED.client_order_id,
            price = EXCLUDED.price, qty = EXCLUDED.qty, quote_qty = EXCLUDED.quote_qty,
            filled_qty = EXCLUDED.filled_qty, filled_quote = EXCLUDED.filled_quote, avg_price = EXCLUDED.avg_price,
            status = EXCLUDED.status, expire_reason = EXCLUDED.expire_reason, updated_at = EXCLUDED.updated_at,
            version = EXCLUDED.version
          WHERE orders.version < EXCLUDED.version`;
      }
      await this.#saveOffset(tx, stream, lastId);
    });
    return inserted;
  }
}
