/**
 * The matching engine's configuration: env variables parsed with zod (only main.ts reads the env), and
 * the engine settings derived from them on top of the engine's own defaults.
 * @module
 */
import { z } from "zod";
import { BaseConfig, ConfigError, DEFAULT_PORTS, EnvBool, Port } from "@lib/config";
import { type AssetSpec, DecimalString, MarketSpec } from "@lib/contracts";
import type { EngineSettings } from "./engine_api.ts";

const PositiveInt = z.coerce.number().int().positive();
const NonNegativeInt = z.coerce.number().int().nonnegative();

/** Parses `"[{...MarketSpec}, ...]"`: the markets replace the defaults. */
const MarketsJson = z.string().transform((text, ctx) => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `must be a JSON array of markets: ${(e as Error).message}` });
    return z.NEVER;
  }
  const r = z.array(MarketSpec).min(1).safeParse(json);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    ctx.addIssue({ code: "custom", message: `must be a JSON array of markets (MarketSpec): ${why}` });
    return z.NEVER;
  }
  return r.data;
});

/** Parses `"USD=100000,BTC=2"` into `{ USD: "100000", BTC: "2" }`. */
const BalancesList = z.string().transform((text, ctx) => {
  const out: Record<string, string> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [asset, amount, extra] = part.split("=").map((s) => s.trim());
    if (
      extra !== undefined || !asset || !/^[A-Z0-9]{1,12}$/.test(asset) || amount === undefined ||
      !DecimalString.safeParse(amount).success
    ) {
      ctx.addIssue({
        code: "custom",
        message:
          `must be ASSET=amount pairs separated by commas, like "USD=100000,BTC=2"; bad part "${part}"`,
      });
      return z.NEVER;
    }
    out[asset] = amount;
  }
  return out;
});

/** Parses `"SOL=8,DOGE=8"`: extra assets with their decimals. */
const AssetsList = z.string().transform((text, ctx) => {
  const out: AssetSpec[] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Z0-9]{1,12})=([0-9]{1,2})$/.exec(part);
    if (!m || Number(m[2]) > 18) {
      ctx.addIssue({
        code: "custom",
        message:
          `must be ASSET=decimals pairs (decimals 0..18) separated by commas, like "SOL=8"; bad part "${part}"`,
      });
      return z.NEVER;
    }
    out.push({ code: m[1], decimals: Number(m[2]) });
  }
  return out;
});

/** Every setting of the matching-engine process. Unset engine knobs keep the engine's defaults. */
export const EngineConfig = BaseConfig.extend({
  KALENCY_ENGINE_PORT: Port.default(DEFAULT_PORTS.KALENCY_ENGINE_PORT),
  /** Markets replacing the defaults (JSON array of MarketSpec). */
  KALENCY_MARKETS: MarketsJson.optional(),
  /** Assets beyond the defaults (USD, BTC, ETH), for markets in KALENCY_MARKETS. */
  KALENCY_ASSETS: AssetsList.optional(),
  /** Adds N generated markets S001-USD, S002-USD, ... for scale tests. */
  KALENCY_SYNTHETIC_MARKETS: NonNegativeInt.max(9999).default(0),
  KALENCY_START_BALANCES: BalancesList.optional(),
  KALENCY_MAKER_FEE_BPS: NonNegativeInt.max(10_000).optional(),
  KALENCY_TAKER_FEE_BPS: NonNegativeInt.max(10_000).optional(),
  KALENCY_PRICE_BAND_PCT: z.coerce.number().positive().max(1_000_000).optional(),
  KALENCY_MAX_OPEN_ORDERS: PositiveInt.optional(),
  KALENCY_BOOK_DEPTH: PositiveInt.max(1000).optional(),
  KALENCY_FEE_ACCOUNT: z.string().min(1).max(64).optional(),
  /** Commands read (XREAD COUNT) and committed (one MULTI) per batch. */
  KALENCY_ENGINE_BATCH: PositiveInt.max(100_000).default(500),
  /** Server-side BLOCK of each read; bounds how long a shutdown waits for an idle read. */
  KALENCY_ENGINE_BLOCK_MS: PositiveInt.max(60_000).default(250),
  KALENCY_SNAPSHOT_INTERVAL_MS: PositiveInt.default(10_000),
  /** Also snapshot after this many commands since the last one (0: by time only). */
  KALENCY_SNAPSHOT_EVERY: NonNegativeInt.default(1_000_000),
  KALENCY_SNAPSHOT_COMPRESS: EnvBool.default(true),
  KALENCY_SNAPSHOT_CHUNK_MB: PositiveInt.max(256).default(64),
  /**
   * Approximate cap (XADD MAXLEN ~) of executions, order-events, wallet, book and orders:dead
   * streams, in messages: about 400 MB of Redis for the four together (executions 650 B a message,
   * order events 530, wallet 250, book 130). Entries a consumer group has not acknowledged are kept
   * beyond it.
   */
  KALENCY_STREAM_MAXLEN: PositiveInt.default(250_000),
  KALENCY_REPLY_MAXLEN: PositiveInt.default(10_000),
  /**
   * Seconds a closed order's record stays in Redis (about 470 B each); the gateway reads older ones
   * from the ledger in PostgreSQL.
   */
  KALENCY_CLOSED_ORDER_TTL_S: PositiveInt.default(24 * 3600),
  /**
   * Commands older than this (by stream id) AND already inside a snapshot are trimmed after each
   * snapshot. 0 keeps them all (for `tools replay` and audits).
   */
  KALENCY_COMMAND_RETENTION_MS: NonNegativeInt.default(0),
  /**
   * When the command stream grows past this many entries (about 360 B each), everything already
   * inside the latest snapshot is trimmed. 0 disables.
   */
  KALENCY_COMMAND_MAXLEN: NonNegativeInt.default(5_000_000),
});
export type EngineConfig = z.output<typeof EngineConfig>;

/** `S001-USD`, `S002-USD`, ...: cheap markets for scale tests, each with its own base asset. */
export function syntheticMarkets(count: number): { assets: AssetSpec[]; markets: MarketSpec[] } {
  const assets: AssetSpec[] = [];
  const markets: MarketSpec[] = [];
  for (let i = 1; i <= count; i++) {
    const base = `S${String(i).padStart(3, "0")}`;
    assets.push({ code: base, decimals: 8 });
    markets.push({
      symbol: `${base}-USD`,
      base,
      quote: "USD",
      tickSize: "0.01",
      stepSize: "0.001",
      minQty: "0.001",
      maxQty: "100000",
      minNotional: "1",
      status: "TRADING",
      startPrice: String(10 + (i % 90)),
    });
  }
  return { assets, markets };
}

/** Starting balance of each synthetic base asset when KALENCY_START_BALANCES does not name it. */
const SYNTHETIC_START_BALANCE = "1000";

/**
 * The engine settings for a config: the engine's defaults, overridden by every variable that is set.
 * Every market's assets must be known (defaults plus synthetic ones); an unknown one is a config error.
 */
export function engineSettingsFrom(config: EngineConfig, defaults: EngineSettings): EngineSettings {
  const synthetic = syntheticMarkets(config.KALENCY_SYNTHETIC_MARKETS);
  const markets = [...(config.KALENCY_MARKETS ?? defaults.markets), ...synthetic.markets];
  const assets = [...defaults.assets];
  for (const a of [...(config.KALENCY_ASSETS ?? []), ...synthetic.assets]) {
    if (!assets.some((x) => x.code === a.code)) assets.push(a);
  }
  const seen = new Set<string>();
  for (const m of markets) {
    if (seen.has(m.symbol)) {
      throw new ConfigError(
        `Cannot load configuration:\n  KALENCY_MARKETS: market ${m.symbol} is listed twice`,
      );
    }
    seen.add(m.symbol);
    for (const code of [m.base, m.quote]) {
      if (!assets.some((a) => a.code === code)) {
        throw new ConfigError(
          `Cannot load configuration:\n  KALENCY_MARKETS: market ${m.symbol} uses asset ${code}, which is not one of ${
            assets.map((a) => a.code).join(", ")
          } (declare it in KALENCY_ASSETS, e.g. "${code}=8")`,
        );
      }
    }
  }
  const startBalances = { ...(config.KALENCY_START_BALANCES ?? defaults.startBalances) };
  for (const a of synthetic.assets) startBalances[a.code] ??= SYNTHETIC_START_BALANCE;
  return {
    ...defaults,
    assets,
    markets,
    startBalances,
    makerFeeBps: config.KALENCY_MAKER_FEE_BPS ?? defaults.makerFeeBps,
    takerFeeBps: config.KALENCY_TAKER_FEE_BPS ?? defaults.takerFeeBps,
    priceBandPct: config.KALENCY_PRICE_BAND_PCT ?? defaults.priceBandPct,
    maxOpenOrdersPerUser: config.KALENCY_MAX_OPEN_ORDERS ?? defaults.maxOpenOrdersPerUser,
    bookDepth: config.KALENCY_BOOK_DEPTH ?? defaults.bookDepth,
    feeAccount: config.KALENCY_FEE_ACCOUNT ?? defaults.feeAccount,
  };
}
