/**
 * The ledger in PostgreSQL, shared by the ledger writer (which fills it), the gateway and the tools
 * (which read it): balances and postings history from the double-entry postings, and how far a
 * consumer group is behind its stream.
 * @module
 */
export * from "./lag.ts";
export * from "./sample_flow.ts";
