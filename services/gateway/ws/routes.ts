/**
 * The HTTP side of the feed: `GET /v1/ws` and the original Kalency's `GET /ws/trades/:symbol` and
 * `GET /ws/ticks/:symbol`, upgraded with a WebSocket helper for Hono (./upgrade.ts).
 */
import { SYMBOL_REGEXP } from "@lib/contracts";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import type { Identity } from "./channels.ts";
import { legacyTicksSpec, legacyTradesSpec, type SnapshotLoaders } from "./fanout.ts";
import type { Client, Hub, Route } from "./hub.ts";
import { MAX_SUBSCRIPTIONS, msg } from "./protocol.ts";
import { problemBody } from "../errors.ts";
import { upgradeWebSocket } from "./upgrade.ts";

/**
 * Whether a request path is one of the routes below: /v1/ws, and the original's /ws/trades/{symbol}
 * and /ws/ticks/{symbol} (the app lets their upgrades past its middleware).
 */
export function isWebSocketPath(path: string): boolean {
  return path === "/v1/ws" || path === "/v1/ws/" || path.startsWith("/ws/");
}

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
  /** The client's address (as the rate limits see it), for the per-address cap. */
  addressOf?(c: Context): string;
  /** Open connections one address may hold; 0 for no cap. */
  maxPerAddress: number;
  onError(e: unknown): void;
}

function problem(c: Context, status: 400 | 404 | 426 | 429 | 503, code: string, detail: string) {
  return c.body(JSON.stringify(problemBody(status, code, detail)), status, {
    "content-type": "application/problem+json",
  });
}

export function createRoutes(deps: RouteDeps): Hono {
  const { hub } = deps;
  // Deno pings a client silent for half of this and closes it if no pong comes in the other half
  const upgradeOptions = { idleTimeout: Math.max(1, (2 * deps.heartbeatMs) / 1000) };

  // open connections per client address: one address cannot hold the gateway's memory in sockets
  const perAddress = new Map<string, number>();
  const addressOf = (c: Context) => deps.addressOf?.(c) ?? "unknown";
  const opened = (address: string) => perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
  const closed = (address: string) => {
    const n = (perAddress.get(address) ?? 1) - 1;
    if (n > 0) perAddress.set(address, n);
    else perAddress.delete(address);
  };

  const open: MiddlewareHandler = async (c, next) => {
    if (hub.closed) {
      return problem(c, 503, "SHUTTING_DOWN", "the gateway is shutting down");
    }
    const max = deps.maxPerAddress;
    if (max > 0 && (perAddress.get(addressOf(c)) ?? 0) >= max) {
      return problem(
        c,
        429,
        "TOO_MANY_CONNECTIONS",
        `this address holds ${max} WebSocket connections already, the most one address may; close some ` +
          `(one connection carries up to ${MAX_SUBSCRIPTIONS} channels)`,
      );
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
        const address = addressOf(c);
        const token = c.req.query("token");
        let identity: Identity | undefined;
        if (token) identity = await deps.authenticate(token).catch((e) => void deps.onError(e));
        let client: Client | undefined;
        return {
          onOpen(_e, ws) {
            opened(address);
            client = attach(client, "v1", ws);
            client.identity = identity;
            if (identity) client.credential = token;
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
            closed(address);
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
        const address = addressOf(c);
        let client: Client | undefined;
        return {
          onOpen(_e, ws) {
            opened(address);
            client = attach(client, "trades", ws);
            hub.subscribe(client, legacyTradesSpec(symbol, deps.loaders));
          },
          onClose() {
            closed(address);
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
        const address = addressOf(c);
        let client: Client | undefined;
        return {
          onOpen(_e, ws) {
            opened(address);
            client = attach(client, "ticks", ws);
            hub.subscribe(client, legacyTicksSpec(symbol));
          },
          onClose() {
            closed(address);
            if (client) hub.socketClosed(client);
          },
        };
      }, upgradeOptions),
      notUpgrade,
    );
}
