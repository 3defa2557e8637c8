/**
 * The typed contracts of Kalency: every stream message and shared REST body has one zod schema here,
 * and the TypeScript type is inferred from it. This module imports nothing else from the repo.
 * @module
 */
export * from "./common.ts";
export * from "./markets.ts";
export * from "./commands.ts";
export * from "./events.ts";
export * from "./market_data.ts";
export * from "./streams.ts";
