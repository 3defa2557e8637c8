/**
 * The boundary between the pure matching engine (core/, engine.ts) and the process that feeds it
 * from Redis (run.ts, main.ts). Everything here is wire-level (lib/contracts) and JSON-serializable.
 * @module
 */
import type {
  AssetSpec,
  BookDelta,
  BookSnapshot,
  EngineCommand,
  EngineReply,
  Execution,
  MarketSpec,
  OrderAck,
  OrderEvent,
  WalletEvent,
  WalletView,
} from "@lib/contracts";

/** Where a command sits in the command stream. The engine's only clock is `ts`. */
export interface CommandMeta {
  /** Stream entry id of the command ("1764118000000-3"). */
  id: string;
  /** Milliseconds part of the id. */
  ts: number;
}

/** Everything one command produced, in the order it happened. */
export interface CommandOutput {
  /** The command's reply stream, copied from the command. */
  replyTo?: string;
  reply: EngineReply;
  executions: Execution[];
  orderEvents: OrderEvent[];
  walletEvents: WalletEvent[];
  bookDeltas: BookDelta[];
}

/** Read models touched since the last `takeChanges()`, one entry per object (latest state). */
export interface ReadModelChanges {
  orders: OrderAck[];
  /** Orders that left the book since the last call (filled, canceled, expired), by id. */
  closedOrderIds: string[];
  wallets: WalletView[];
  markets: MarketSpec[];
  /** Top-of-book views of the symbols whose books changed. */
  books: BookSnapshot[];
}

export interface EngineSettings {
  assets: AssetSpec[];
  markets: MarketSpec[];
  /** Maker and taker fee in basis points (integers; default 0). */
  makerFeeBps: number;
  takerFeeBps: number;
  /** Starting balance of a new user per asset, as decimal strings. */
  startBalances: Record<string, string>;
  /** A limit price more than this percent away from the last trade (or start) price is rejected. */
  priceBandPct: number;
  maxOpenOrdersPerUser: number;
  /** Account that receives fees. */
  feeAccount: string;
  /** Levels per side in book read models. */
  bookDepth: number;
}

/** The deterministic state machine. Same commands in, byte-identical outputs out. */
export interface MatchingEngine {
  apply(command: EngineCommand, meta: CommandMeta): CommandOutput;
  takeChanges(): ReadModelChanges;
  /** Whole state as a JSON-serializable value (books, wallets, id counters, sequences, markets). */
  snapshot(): EngineSnapshot;
  /** Id of the last command applied. */
  readonly lastCommandId: string | undefined;
}

/** A snapshot; `version` lets a newer engine refuse an unknown format clearly. */
export interface EngineSnapshot {
  version: number;
  lastCommandId: string | undefined;
  state: unknown;
}
