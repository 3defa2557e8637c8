import { z } from "zod";
import { jsonNumber, keys, type MarketSpec, type SimControl, streamKey, STREAMS } from "@lib/contracts";
import { compareDecimals, decimalPlaces } from "@lib/money";
import { compareStreamIds, publish, streamMessagesAdded } from "@lib/redis";
import { findUser, listUsers, setRoleKeepingAnAdmin } from "@lib/users";
import type { GatewayDeps, RouteFn } from "../app.ts";
import { okReply } from "../engine_client.ts";
import type { SimStatus } from "../read_models.ts";
import { ApiError } from "../errors.ts";
import {
  assetDecimals,
  defaultsForPrice,
  impliedPrice,
  priceRatio,
  stepForTick,
} from "../market_defaults.ts";
import {
  AdminStatusResponse,
  EnsureRequest,
  FundRequest,
  RoleRequest,
  SimRunning,
  SimStatusResponse,
  SymbolControlResponse,
  SymbolParams,
  UserIdParams,
  UserList,
  UserView,
  VolatilityRequest,
  VolatilityResponse,
  WalletResponse,
} from "../schemas.ts";
import { walletBody } from "./account.ts";
import { checkListedSymbol } from "./markets.ts";

/** Bot population of one kind: how many, and how many orders each sends per second. */
const BotsRequest = z.object({
  kind: z.enum(["marketMakers", "noiseTraders", "momentumTraders"]),
  count: jsonNumber(z.number().int().min(0).max(1000)).optional(),
  ratePerSec: jsonNumber(z.number().min(0).max(1000)).optional(),
}).refine((b) => b.count !== undefined || b.ratePerSec !== undefined, {
  message: "give count, ratePerSec or both",
  path: ["count"],
});
const BotsResponse = BotsRequest.safeExtend({ running: z.boolean() });

/** The ensure request's fields that a listed market already has. */
const ENSURE_FILTERS = ["startPrice", "tickSize", "stepSize", "minQty", "maxQty", "minNotional"] as const;

type ControlDraft = SimControl extends infer C ? C extends { ts: number } ? Omit<C, "ts"> : never : never;

/** Simulator controls, market status, funding and users; all need the admin role. */
export function adminRoutes(route: RouteFn, deps: GatewayDeps): void {
  /** The last start or stop this gateway sent, until the simulator's status shows it applied. */
  let requested: { id: string; running: boolean } | undefined;
  async function control(c: ControlDraft): Promise<string> {
    return await publish(deps.redis, deps.prefix, STREAMS.simControl, { ...c, ts: Date.now() } as SimControl);
  }
  /**
   * The simulator's status, except that a start or stop it has not applied yet (its status names the
   * last control it applied) shows as requested: answers right after a stop must not say running.
   */
  async function simStatus(): Promise<SimStatus | undefined> {
    const status = await deps.reads.simStatus();
    // no status: no simulator is running to apply anything, whatever was requested
    if (!requested || !status) return status;
    const applied = status.lastControlId;
    if (applied !== undefined && compareStreamIds(applied, requested.id) >= 0) {
      requested = undefined;
      return status;
    }
    return { ...status, running: requested.running };
  }
  async function running(): Promise<boolean> {
    return (await simStatus())?.running ?? false;
  }
  /** A market to list, from the ensure request's filters and the defaults (see market_defaults.ts). */
  async function newMarket(symbol: string, body: EnsureRequest, markets: MarketSpec[]): Promise<MarketSpec> {
    const [base, quote] = symbol.split("-");
    const tickers = await deps.reads.tickers(markets.map((m) => m.symbol));
    const priced = markets.map((m, i) => ({
      base: m.base,
      quote: m.quote,
      price: tickers[i]?.last ?? m.startPrice,
    }));
    const quoteDecimals = assetDecimals(quote);
    // like the original, a pair no listed market prices starts at another market's price: the first
    // one quoted in the same asset, so that the price is at least in the right unit
    const fallback = markets.find((m) => m.quote === quote) ?? markets[0];
    const price = (body.startPrice !== undefined ? priceRatio(body.startPrice) : undefined) ??
      impliedPrice(base, quote, priced) ?? priceRatio(fallback?.startPrice ?? "100");
    const defaults = price
      ? defaultsForPrice(price, quoteDecimals, {
        minTickDecimals: body.startPrice !== undefined ? decimalPlaces(body.startPrice) : 0,
        stepDecimals: body.stepSize !== undefined ? decimalPlaces(body.stepSize) : undefined,
      })
      : undefined;
    const tickSize = body.tickSize ?? defaults?.tickSize ?? "0.01";
    const stepSize = body.stepSize ??
      (body.tickSize !== undefined
        ? stepForTick(body.tickSize, quoteDecimals)
        : defaults?.stepSize ?? "0.0001");
    return {
      symbol,
      base,
      quote,
      tickSize,
      stepSize,
      minQty: body.minQty ?? stepSize,
      maxQty: body.maxQty ?? "1000000",
      // in quote units, whatever the quote asset: the smallest price step is a neutral floor
      minNotional: body.minNotional ?? tickSize,
      status: "TRADING",
      startPrice: body.startPrice ?? defaults?.startPrice ?? "100",
    };
  }

  /** Ensure sets a listed market trading again; it cannot change the filters it was listed with. */
  function refuseOtherFilters(existing: MarketSpec, body: EnsureRequest): void {
    for (const field of ENSURE_FILTERS) {
      const asked = body[field];
      if (asked === undefined || compareDecimals(asked, existing[field]) === 0) continue;
      throw new ApiError(
        409,
        "MARKET_EXISTS",
        `${existing.symbol} is listed already with ${field} ${existing[field]} (asked ${asked}); ` +
          "the filters of a listed market cannot change",
        { field },
      );
    }
  }

  /** The symbol as written in the path, for the original's response shape. */
  function rawSymbol(c: { req: { param(name: string): string | undefined } }): string {
    return c.req.param("symbol") ?? "";
  }

  for (const action of ["start", "stop"] as const) {
    route({
      method: "post",
      path: `/v1/admin/sim/${action}`,
      summary: `${action === "start" ? "Start" : "Stop"} the market simulator (idempotent)`,
      tags: ["admin"],
      auth: "admin",
      responses: { 200: { description: "The requested state", schema: SimRunning } },
    }, async (c) => {
      requested = { id: await control({ action }), running: action === "start" };
      return c.json({ running: action === "start" });
    });
  }

  route({
    method: "post",
    path: "/v1/admin/sim/volatility-profile",
    summary: "Set the volatility: a raw number (original) or a named profile, for one symbol or all",
    tags: ["admin"],
    auth: "admin",
    body: VolatilityRequest,
    responses: { 200: { description: "Applied settings", schema: VolatilityResponse } },
  }, async (c, { body }) => {
    await checkListedSymbol(deps, body.symbol);
    // the original set 0 (flat) when the body had no volatility
    const volatility = body.profile === undefined ? body.volatility ?? 0 : body.volatility;
    await control({ action: "volatility", profile: body.profile, volatility, symbol: body.symbol });
    return c.json({ running: await running(), volatility, profile: body.profile, symbol: body.symbol });
  });

  route({
    method: "post",
    path: "/v1/admin/sim/bots",
    summary: "Set the number of bots of one kind and their order rate",
    tags: ["admin"],
    auth: "admin",
    body: BotsRequest,
    responses: { 200: { description: "Applied settings", schema: BotsResponse } },
  }, async (c, { body }) => {
    await control({ action: "bots", kind: body.kind, count: body.count, ratePerSec: body.ratePerSec });
    return c.json({ running: await running(), ...body });
  });

  route({
    method: "get",
    path: "/v1/admin/status",
    summary: "System status: engine progress, stream lengths and consumer-group lags, simulator",
    tags: ["admin"],
    auth: "admin",
    responses: { 200: { description: "Status", schema: AdminStatusResponse } },
  }, async (c) => {
    const commands = streamKey(deps.prefix, STREAMS.orders);
    const [checkpoint, last, sim, packed] = await Promise.all([
      deps.redis.get(keys.checkpoint(deps.prefix)),
      deps.redis.xRevRange(commands, "+", "-", { COUNT: 1 }),
      simStatus(),
      deps.redis.hGetAll(keys.messagesAdded(deps.prefix)),
    ]);
    const behind = await deps.redis.xRange(commands, checkpoint ? `(${checkpoint}` : "-", "+", {
      COUNT: 10_000,
    });
    const streams = await Promise.all(
      Object.values(STREAMS).map(async (def) => {
        const key = streamKey(deps.prefix, def);
        // a stream not written yet has no info (and no groups): all zero
        const [info, groups] = await Promise.all([
          deps.redis.xInfoStream(key).then((i) => i as unknown as Record<string, unknown>).catch(() =>
            undefined
          ),
          deps.redis.xInfoGroups(key).catch(() => [] as Record<string, unknown>[]),
        ]);
        const entriesAdded = Number(info?.["entries-added"] ?? 0);
        return {
          stream: def.name,
          length: Number(info?.length ?? 0),
          entriesAdded,
          messagesAdded: streamMessagesAdded(packed, def.name, entriesAdded),
          groups: (groups as Record<string, unknown>[]).map((g) => ({
            name: String(g.name),
            lag: Number(g.lag ?? 0),
            pending: Number(g.pending),
          })),
        };
      }),
    );
    return c.json({
      engine: {
        checkpoint,
        lastCommandId: last?.[0]?.id ?? null,
        commandsBehind: behind?.length ?? 0,
      },
      streams,
      sim: sim ?? null,
      gateway: deps.identity(),
      ts: Date.now(),
    });
  });

  route({
    method: "get",
    path: "/v1/admin/sim/status",
    summary: "The simulator's published status",
    tags: ["admin"],
    auth: "admin",
    responses: {
      200: {
        description: "Status (running false when the simulator never reported)",
        schema: SimStatusResponse,
      },
    },
  }, async (c) => c.json((await simStatus()) ?? { running: false }));

  for (const action of ["pause", "resume"] as const) {
    route({
      method: "post",
      path: `/v1/admin/symbols/:symbol/${action}`,
      summary: `${action === "pause" ? "Pause" : "Resume"} a market: the engine ${
        action === "pause" ? "rejects" : "accepts"
      } its orders and the simulator ${action === "pause" ? "stops" : "restarts"} it`,
      tags: ["admin"],
      auth: "admin",
      engine: true,
      params: SymbolParams,
      responses: { 200: { description: "The symbol's state", schema: SymbolControlResponse } },
    }, async (c, { params }) => {
      okReply(
        await deps.engine.send({
          type: "setMarketStatus",
          symbol: params.symbol,
          status: action === "pause" ? "PAUSED" : "TRADING",
        }),
      );
      deps.reads.invalidateMarkets();
      await control({ action, symbol: params.symbol });
      return c.json({
        running: await running(),
        symbol: rawSymbol(c),
        paused: action === "pause",
        ensured: false,
      });
    });
  }

  route({
    method: "post",
    path: "/v1/admin/symbols/:symbol/ensure",
    summary: "List a market (or set it trading again) and have the simulator run it",
    description: "New markets take their filters from the body, else from defaults. The start price " +
      "defaults to the price the listed markets imply (ETH-BTC from ETH-USD and BTC-USD, at their last " +
      "trades), else to that of the first market quoted in the same asset; the tick gives it about five " +
      "significant digits and tick x " +
      "step is a whole number of the quote asset's minor units.",
    tags: ["admin"],
    auth: "admin",
    engine: true,
    params: SymbolParams,
    body: EnsureRequest,
    responses: {
      200: { description: "The symbol's state", schema: SymbolControlResponse },
      400: { description: "The market's filters do not fit (INVALID_MARKET, naming the field)" },
      409: { description: "The market is listed with other filters, which cannot change (MARKET_EXISTS)" },
    },
  }, async (c, { params, body }) => {
    const markets = await deps.reads.markets();
    const existing = markets.find((m) => m.symbol === params.symbol);
    if (existing) refuseOtherFilters(existing, body);
    const market = existing
      ? { ...existing, status: "TRADING" as const }
      : await newMarket(params.symbol, body, markets);
    const reply = await deps.engine.send({ type: "addMarket", market });
    if (!reply.ok) {
      throw new ApiError(400, "INVALID_MARKET", `cannot list ${params.symbol}: ${reply.message}`, {
        field: reply.field,
      });
    }
    deps.reads.invalidateMarkets();
    await control({ action: "ensure", symbol: params.symbol });
    return c.json({ running: await running(), symbol: rawSymbol(c), paused: false, ensured: true });
  });

  route({
    method: "post",
    path: "/v1/admin/wallets/fund",
    summary: "Credit an amount of an asset to a user",
    tags: ["admin"],
    auth: "admin",
    engine: true,
    body: FundRequest,
    responses: {
      200: { description: "The wallet afterwards", schema: WalletResponse },
      404: { description: "The user (UNKNOWN_USER) or the asset (UNKNOWN_ASSET) does not exist" },
    },
  }, async (c, { body }) => {
    // the engine opens a wallet for any id it is given: a typo must not make a funded phantom
    if (!(await findUser(deps.sql, { userId: body.userId }))) {
      throw new ApiError(404, "UNKNOWN_USER", `user ${body.userId} not found`, { field: "userId" });
    }
    const reply = okReply(
      await deps.engine.send({
        type: "deposit",
        userId: body.userId,
        asset: body.asset,
        amount: body.amount,
      }),
    );
    const wallet = reply.wallet ?? await deps.reads.wallet(body.userId);
    if (!wallet) throw new ApiError(503, "WALLET_UNAVAILABLE", "The wallet is not available yet; retry");
    return c.json(walletBody(wallet));
  });

  route(
    {
      method: "get",
      path: "/v1/admin/users",
      summary: "Every user",
      tags: ["admin"],
      auth: "admin",
      responses: { 200: { description: "Users, oldest first", schema: UserList } },
    },
    async (c) => c.json((await listUsers(deps.sql)).map((u) => ({ ...u, createdAt: u.createdAt.getTime() }))),
  );

  route({
    method: "post",
    path: "/v1/admin/users/:userId/role",
    summary:
      "Change a user's role (a demotion shuts the admin routes at once; a promotion opens them with the next token)",
    tags: ["admin"],
    auth: "admin",
    params: UserIdParams,
    body: RoleRequest,
    responses: {
      200: { description: "The user", schema: UserView },
      409: { description: "The user is the only admin (LAST_ADMIN)" },
    },
  }, async (c, { params, body }) => {
    const user = await setRoleKeepingAnAdmin(deps.sql, params.userId, body.role);
    if (user === "last-admin") {
      throw new ApiError(
        409,
        "LAST_ADMIN",
        `user ${params.userId} is the only admin; make another user admin first`,
        { field: "role" },
      );
    }
    if (!user) {
      throw new ApiError(404, "UNKNOWN_USER", `user ${params.userId} not found`, { field: "userId" });
    }
    return c.json({ userId: user.userId, username: user.username, role: user.role });
  });
}
