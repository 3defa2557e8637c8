/**
 * The HTTP side of the feed: `GET /v1/ws` and the original Kalency's `GET /ws/trades/:symbol` and
 * `GET /ws/ticks/:symbol`, upgraded with Hono's Deno WebSocket helper.
 */
import { SYMBOL_REGEXP } from "@lib/contracts";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { upgradeWebSocket } from "hono/deno";
import type { Identity } from "./channels.ts";
import { legacyTicksSpec, legacyTradesSpec, type SnapshotLoaders } from "./fanout.ts";
import type { Client, Hub, Route } from "./hub.ts";
import { msg } from "./protocol.ts";
import { problemBody } from "../errors.ts";

export interface RouteDeps {
  hub: Hub;
  loaders: SnapshotLoaders;
  handleMessage(c: Client, data: unknown): void;
  authenticate(token: string): Promise<Identity | undefined>;
  /** Makes the feed read what a channel kind needs (see the session's); awaited before an upgrade. */
  prepare?(kind: string): Promise<void>;
  /** Why a symbol cannot be followed (it is not listed), or undefined when it can. */
  unlisted?(symbol: string): Promise<string | undefined>;
  heartbeatMs: number;
  onError(e: unknown): void;
}

function problem(c: Context, status: 400 | 404 | 426 | 503, code: string, detail: string) {
  return c.body(JSON.stringify(problemBody(status, code, detail)), status, {
    "content-type": "application/problem+json",
  });
}

export function createRoutes(deps: RouteDeps): Hono {
  const { hub } = deps;
  // Deno pings a client silent for half of this and closes it if no pong comes in the other half
  const upgradeOptions = { idleTimeout: Math.max(1, (2 * deps.heartbeatMs) / 1000) };

  const open: MiddlewareHandler = async (c, next) => {
    if (hub.closed) {
      return problem(c, 503, "SHUTTING_DOWN", "the gateway is shutting down");
    }
    await next();
  };
  const notUpgrade = (c: Context) =>
    problem(
      c,
      426,
      "UPGRADE_REQUIRED",
      `${c.req.path} is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)`,
    );
  const legacySymbol: MiddlewareHandler = async (c, next) => {
    const symbol = c.req.param("symbol")?.toUpperCase() ?? "";
    if (!SYMBOL_REGEXP.test(symbol)) {
      return problem(c, 400, "INVALID_SYMBOL", "symbol must be BASE-QUOTE, e.g. BTC-USD");
    }
    const why = await deps.unlisted?.(symbol).catch(() => undefined);
    if (why) return problem(c, 404, "UNKNOWN_SYMBOL", why);
    await next();
  };

  // the original's routes subscribe as the socket opens: the feed reads their stream before the
  // upgrade is answered, so the client gets everything published after its socket is open
  const prepared = (kind: string): MiddlewareHandler => async (c, next) => {
    try {
      await deps.prepare?.(kind);
    } catch (e) {
      deps.onError(e);
      return problem(
        c,
        503,
        "UNAVAILABLE",
        "the market feed cannot read its streams now",
      );
    }
    await next();
  };

  function attach(c: Client | undefined, route: Route, ws: { raw?: WebSocket }): Client {
    return c ?? hub.connect(ws.raw!, route);
  }

  return new Hono()
    .get(
      "/v1/ws",
      open,
      upgradeWebSocket(async (c) => {
        const token = c.req.query("token");
        let identity: Identity | undefined;
        if (token) identity = await deps.authenticate(token).catch((e) => void deps.onError(e));
        let client: Client | undefined;
        return {
          onOpen(_e, ws) {
            client = attach(client, "v1", ws);
            client.identity = identity;
            hub.reply(client, msg.welcome(deps.heartbeatMs));
            if (identity) hub.reply(client, msg.authenticated(identity, undefined));
            else if (token) {
              hub.reply(
                client,
                msg.error(
                  "AUTH_FAILED",
                  "the token in ?token= is invalid or expired; connected anonymously",
                  undefined,
                ),
              );
            }
          },
          onMessage(e) {
            if (client) deps.handleMessage(client, e.data);
          },
          onClose() {
            if (client) hub.socketClosed(client);
          },
        };
      }, upgradeOptions),
      notUpgrade,
    )
    .get(
      "/ws/trades/:symbol",
      open,
      legacySymbol,
      prepared("legacy_trades"),
      upgradeWebSocket((c) => {
        const symbol = c.req.param("symbol")!.toUpperCase();
        let client: Client | undefined;
        return {
          onOpen(_e, ws) {
            client = attach(client, "trades", ws);
            hub.subscribe(client, legacyTradesSpec(symbol, deps.loaders));
          },
          onClose() {
            if (client) hub.socketClosed(client);
          },
        };
      }, upgradeOptions),
      notUpgrade,
    )
    .get(
      "/ws/ticks/:symbol",
      open,
      legacySymbol,
      prepared("legacy_ticks"),
      upgradeWebSocket((c) => {
        const symbol = c.req.param("symbol")!.toUpperCase();
        let client: Client | undefined;
        return {
          onOpen(_e, ws) {
            client = attach(client, "ticks", ws);
            hub.subscribe(client, legacyTicksSpec(symbol));
          },
          onClose() {
            if (client) hub.socketClosed(client);
          },
        };
      }, upgradeOptions),
      notUpgrade,
    );
}
