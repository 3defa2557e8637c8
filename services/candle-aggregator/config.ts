import { BaseDbConfig, DEFAULT_PORTS, EnvBool, Port } from "@lib/config";
import { z } from "zod";

const PositiveInt = z.coerce.number().int().positive();

/** Every setting of the candle-aggregator process. */
export const CandleConfig = BaseDbConfig.extend({
  KALENCY_CANDLES_PORT: Port.default(DEFAULT_PORTS.KALENCY_CANDLES_PORT),
  /** Consumer name inside the `candle-aggregator` group. */
  KALENCY_CANDLES_CONSUMER: z.string().min(1).default("candle-aggregator-1"),
  /** Stream entries read and applied per batch (one MULTI each). */
  KALENCY_CANDLES_BATCH: PositiveInt.max(50_000).default(2000),
  KALENCY_CANDLES_BLOCK_MS: PositiveInt.max(60_000).default(1000),
  /**
   * After a read that did not fill a batch, wait this long before the next one: candles then follow
   * the trades up to this much later, with fewer Redis writes per trade. 0 reads at once.
   */
  KALENCY_CANDLES_LINGER_MS: z.coerce.number().int().min(0).max(10_000).default(25),
  /** Closed candles kept in Redis per series (at least a day of 1m for the ticker); older ones are read from PostgreSQL. */
  KALENCY_CANDLES_REDIS_KEEP: PositiveInt.default(2000),
  /** Approximate cap of stream:candles. */
  KALENCY_CANDLES_STREAM_MAXLEN: PositiveInt.default(100_000),
  /** Build index candles (source=index) from stream:ticks too. */
  KALENCY_CANDLES_INDEX: EnvBool.default(true),
  /** Write closed candles to PostgreSQL (history beyond the Redis window). */
  KALENCY_CANDLES_HISTORY: EnvBool.default(true),
  KALENCY_CANDLES_FLUSH_MS: PositiveInt.default(500),
  KALENCY_CANDLES_FLUSH_BATCH: PositiveInt.max(50_000).default(2000),
  /** Days of 1s and 5s candles kept in PostgreSQL (86,400 rows a day per series at 1s); 0 keeps all. */
  KALENCY_CANDLES_SHORT_KEEP_DAYS: z.coerce.number().int().min(0).max(3650).default(7),
  /** Lag above this many entries makes /healthz say "degraded". */
  KALENCY_CANDLES_LAG_WARN: PositiveInt.default(50_000),
});
export type CandleConfig = z.output<typeof CandleConfig>;
