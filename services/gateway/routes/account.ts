import type { Execution, WalletView } from "@lib/contracts";
import { fillsFromLedger, postingsHistory } from "@lib/ledger";
import { findUser } from "@lib/users";
import type { GatewayDeps, RouteFn } from "../app.ts";
import { okReply } from "../engine_client.ts";
import { checkListedSymbol } from "./markets.ts";
import { ApiError } from "../errors.ts";
import {
  ApiKeyView,
  CreateApiKeyRequest,
  CreatedApiKey,
  KeyIdParams,
  MeResponse,
  MyTradesQuery,
  PostingsQuery,
  PostingsResponse,
  TradeList,
  WalletResponse,
} from "../schemas.ts";
import { z } from "zod";

/** The original's wallet maps plus the balances list. */
export function walletBody(w: WalletView) {
  const available: Record<string, string> = {};
  const reserved: Record<string, string> = {};
  for (const b of w.balances) {
    available[b.asset] = b.free;
    reserved[b.asset] = b.locked;
  }
  return { userId: w.userId, available, reserved, balances: w.balances, updatedAt: w.updatedAt };
}

/** Who am I, wallet, my trades, API keys. */
export function accountRoutes(route: RouteFn, deps: GatewayDeps): void {
  /**
   * A posting's asset is one of a market's or one the user holds (a deposit of an asset no market
   * trades): anything else is a typo, answered like an unknown symbol instead of an empty page.
   */
  async function checkKnownAsset(asset: string, userId: string): Promise<void> {
    const [markets, wallet] = await Promise.all([deps.reads.markets(), deps.reads.wallet(userId)]);
    const known = new Set(markets.flatMap((m) => [m.base, m.quote]));
    for (const b of wallet?.balances ?? []) known.add(b.asset);
    if (known.size === 0 || known.has(asset)) return;
    throw new ApiError(
      404,
      "UNKNOWN_ASSET",
      `asset ${asset} is not known; assets: ${[...known].sort().join(", ")}`,
      {
        field: "asset",
      },
    );
  }

  route({
    method: "get",
    path: "/v1/me",
    summary: "The authenticated user",
    tags: ["account"],
    auth: "user",
    responses: { 200: { description: "The user", schema: MeResponse } },
  }, async (c, { principal }) => {
    const user = await findUser(deps.sql, { userId: principal.userId });
    return c.json({
      userId: principal.userId,
      username: user?.username ?? null,
      role: principal.role,
      via: principal.via,
    });
  });

  route({
    method: "get",
    path: "/v1/wallet",
    summary: "Your balances: available and reserved per asset, and a balances list",
    tags: ["account"],
    auth: "user",
    engine: true, // the first read opens the account in the engine
    responses: { 200: { description: "Wallet", schema: WalletResponse } },
  }, async (c, { principal }) => {
    let wallet = await deps.reads.wallet(principal.userId);
    if (!wallet) {
      // like the original, a wallet exists from its first read: open the account (idempotent)
      const reply = okReply(await deps.engine.send({ type: "openAccount", userId: principal.userId }));
      wallet = reply.wallet ?? await deps.reads.wallet(principal.userId);
    }
    if (!wallet) throw new ApiError(503, "WALLET_UNAVAILABLE", "The wallet is not available yet; retry");
    return c.json(walletBody(wallet));
  });

  route({
    method: "get",
    path: "/v1/wallet/postings",
    summary: "Your balance history: the ledger's double-entry postings, newest first, paged",
    description: "From the ledger in PostgreSQL (written by the ledger writer), so the last moments may " +
      "not be there yet.",
    tags: ["account"],
    auth: "user",
    query: PostingsQuery,
    responses: {
      200: { description: "One page of postings", schema: PostingsResponse },
      404: { description: "UNKNOWN_ASSET: no market trades the asset and you do not hold it" },
    },
  }, async (c, { query, principal }) => {
    if (query.asset !== undefined) await checkKnownAsset(query.asset, principal.userId);
    try {
      return c.json(await postingsHistory(deps.sql, principal.userId, query));
    } catch (e) {
      if (e instanceof TypeError && /cursor/.test(e.message)) {
        throw new ApiError(400, "VALIDATION_FAILED", `cursor: ${e.message}`, { field: "cursor" });
      }
      throw e;
    }
  });

  /**
   * A user's fills older than `before`, newest first, or undefined when `before` is not one of them.
   * Redis holds the newest fills (so a page back from a fill made a moment ago works before the
   * ledger has it); older ones come from the ledger, which keeps them all.
   */
  async function fillsBefore(
    userId: string,
    before: string,
    symbol: string | undefined,
    limit: number,
  ): Promise<Execution[] | undefined> {
    const recent = await deps.reads.fills(userId, 1000);
    const at = recent.findIndex((f) => f.tradeId === before);
    if (at < 0) return await fillsFromLedger(deps.sql, userId, { symbol, before, limit });
    const page = recent.slice(at + 1).filter((f) => !symbol || f.symbol === symbol).slice(0, limit);
    if (page.length === limit) return page;
    // from the oldest fill Redis holds, whether or not the ledger has written it yet
    const older = await fillsFromLedger(deps.sql, userId, {
      symbol,
      beforeFill: recent[recent.length - 1],
      limit: limit - page.length,
    });
    return [...page, ...older ?? []];
  }

  const myTrades = {
    summary: "Your fills (as maker or taker), oldest first; `before` pages back through the ledger",
    tags: ["account"],
    auth: "user" as const,
    query: MyTradesQuery,
    responses: {
      200: { description: "Executions", schema: TradeList },
      404: { description: "UNKNOWN_TRADE: `before` is not one of your fills in the ledger" },
    },
  };
  for (const path of ["/v1/trades/mine", "/v1/me/trades"]) {
    route({ method: "get", path, ...myTrades }, async (c, { query, principal }) => {
      await checkListedSymbol(deps, query.symbol);
      if (query.before !== undefined) {
        const older = await fillsBefore(principal.userId, query.before, query.symbol, query.limit);
        if (!older) {
          throw new ApiError(
            404,
            "UNKNOWN_TRADE",
            `before=${query.before} is not one of your fills`,
            { field: "before" },
          );
        }
        return c.json(older.reverse());
      }
      const fills = await deps.reads.fills(principal.userId, query.symbol ? 1000 : query.limit);
      let mine = query.symbol ? fills.filter((f) => f.symbol === query.symbol) : fills;
      mine = mine.slice(0, query.limit);
      if (mine.length < query.limit && fills.length > 0) {
        // Redis keeps only the user's newest fills (and of every symbol): older ones are in the
        // ledger, before the oldest fill Redis has (undefined while that one is not there yet)
        const older = await fillsFromLedger(deps.sql, principal.userId, {
          symbol: query.symbol,
          beforeFill: fills[fills.length - 1],
          limit: query.limit - mine.length,
        });
        if (older) mine = [...mine, ...older];
      }
      return c.json(mine.reverse());
    });
  }

  route({
    method: "post",
    path: "/v1/api-keys",
    summary: "Create an API key; the secret is returned once",
    tags: ["api-keys"],
    auth: "user",
    body: CreateApiKeyRequest,
    responses: {
      201: { description: "The key and its secret", schema: CreatedApiKey },
      403: { description: "Sent with an API key: keys are made with a login (LOGIN_REQUIRED)" },
    },
  }, async (c, { body, principal }) => {
    if (principal.via !== "jwt") {
      throw new ApiError(
        403,
        "LOGIN_REQUIRED",
        "API keys are created with a login (Bearer token), not with a key",
      );
    }
    return c.json(await deps.apiKeys.create(principal.userId, body.label), 201);
  });

  route({
    method: "get",
    path: "/v1/api-keys",
    summary: "Your API keys (no secrets)",
    tags: ["api-keys"],
    auth: "user",
    responses: { 200: { description: "Keys, newest first", schema: z.array(ApiKeyView) } },
  }, async (c, { principal }) => c.json(await deps.apiKeys.list(principal.userId)));

  route({
    method: "delete",
    path: "/v1/api-keys/:keyId",
    summary: "Revoke one of your API keys",
    tags: ["api-keys"],
    auth: "user",
    params: KeyIdParams,
    responses: { 204: { description: "Revoked" } },
  }, async (c, { params, principal }) => {
    if (!await deps.apiKeys.revoke(principal.userId, params.keyId)) {
      throw new ApiError(404, "UNKNOWN_API_KEY", `API key ${params.keyId} not found among your active keys`, {
        field: "keyId",
      });
    }
    return c.body(null, 204);
  });
}
