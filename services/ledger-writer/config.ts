import { BaseDbConfig, DEFAULT_PORTS, Port } from "@lib/config";
import { z } from "zod";

const PositiveInt = z.coerce.number().int().positive();

/** Every setting of the ledger-writer process. */
export const LedgerConfig = BaseDbConfig.extend({
  KALENCY_LEDGER_PORT: Port.default(DEFAULT_PORTS.KALENCY_LEDGER_PORT),
  /** Consumer name inside the `ledger-writer` group. */
  KALENCY_LEDGER_CONSUMER: z.string().min(1).default("ledger-writer-1"),
  /** Executions read and committed per transaction. */
  KALENCY_LEDGER_TRADE_BATCH: PositiveInt.max(100_000).default(2000),
  /** Wallet and order events read and committed per transaction. */
  KALENCY_LEDGER_EVENT_BATCH: PositiveInt.max(100_000).default(2000),
  /** Trade batches committed at the same time (PostgreSQL uses one core per connection). */
  KALENCY_LEDGER_TRADE_CONCURRENCY: PositiveInt.max(16).default(3),
  /** Order-event batches committed at the same time. */
  KALENCY_LEDGER_EVENT_CONCURRENCY: PositiveInt.max(16).default(2),
  KALENCY_LEDGER_BLOCK_MS: PositiveInt.max(60_000).default(1000),
  /**
   * After a read that did not fill a batch, wait this long before the next one: rows then reach the
   * ledger up to this much later, in fewer and larger statements (less CPU per row). 0 reads at once.
   */
  KALENCY_LEDGER_LINGER_MS: z.coerce.number().int().min(0).max(10_000).default(50),
  /** First retry delay after a failed write; doubles up to KALENCY_LEDGER_RETRY_MAX_MS. */
  KALENCY_LEDGER_RETRY_MS: PositiveInt.default(200),
  KALENCY_LEDGER_RETRY_MAX_MS: PositiveInt.default(5000),
  /** Lag above this many entries makes /healthz say "degraded". */
  KALENCY_LEDGER_LAG_WARN: PositiveInt.default(100_000),
  /** The account fees are paid to; must match the matching engine's KALENCY_FEE_ACCOUNT. */
  KALENCY_FEE_ACCOUNT: z.string().min(1).max(64).default("kalency-fees"),
});
export type LedgerConfig = z.output<typeof LedgerConfig>;
