/**
 * One `/v1/ws` connection's operations: subscribe, unsubscribe, auth, ping. Operations of a client run
 * one after another, so an `auth` completes before the `subscribe` sent after it.
 */
import { authorize, type Identity, parseChannel, resolveChannel } from "./channels.ts";
import { channelSpec, type SnapshotLoaders } from "./fanout.ts";
import type { Client, Hub } from "./hub.ts";
import {
  CLOSE,
  MAX_CLIENT_MESSAGE,
  MAX_SUBSCRIPTIONS,
  msg,
  OPS_BURST,
  OPS_PER_SECOND,
  parseClientOp,
} from "./protocol.ts";

const utf8 = new TextEncoder();
/** `orders`, `wallet` and their `.{userId}` forms, in any case. */
const PRIVATE_CHANNEL = /^(orders|wallet)(\.|$)/i;

/** Size of a text frame in UTF-8 bytes; counted only when its length in UTF-16 units leaves doubt. */
function overLimit(data: string): boolean {
  if (data.length > MAX_CLIENT_MESSAGE) return true;
  return data.length * 3 > MAX_CLIENT_MESSAGE && utf8.encode(data).length > MAX_CLIENT_MESSAGE;
}

export interface SessionDeps {
  hub: Hub;
  loaders: SnapshotLoaders;
  authenticate(token: string): Promise<Identity | undefined>;
  /** Makes the feed read what a channel kind needs; awaited before a subscription is acknowledged. */
  prepare?(kind: string): Promise<void>;
  /** Why a symbol cannot be subscribed to (it is not listed), or undefined when it can. */
  unlisted?(symbol: string): Promise<string | undefined>;
  now(): number;
  onError(e: unknown): void;
}

/** The handler of one client frame, and the periodic check of a connection's private channels. */
export interface Session {
  (c: Client, data: unknown): void;
  /**
   * Checks the login of a connection holding private channels again, as a private subscribe does:
   * an access token that expired or an API key revoked meanwhile ends them.
   */
  recheckPrivate(c: Client): void;
}

/** Returns the handler of one client frame. */
export function createSession(deps: SessionDeps): Session {
  const { hub, loaders } = deps;

  async function identify(token: string): Promise<Identity | undefined> {
    try {
      return await deps.authenticate(token);
    } catch (e) {
      deps.onError(e);
      return undefined;
    }
  }

  /**
   * Checks the connection's token again (before a private subscribe, and every round for a
   * connection holding private channels): an access token that expired, an API key revoked or a role
   * changed since the `auth` count from here on, as they do in REST (docs/websocket.md).
   */
  async function recheckIdentity(
    c: Client,
    id: string | number | undefined,
    onStoreError: (e: unknown) => void = deps.onError,
  ): Promise<boolean> {
    let now: Identity | undefined;
    try {
      now = c.credential === undefined ? undefined : await deps.authenticate(c.credential);
    } catch (e) {
      // the key store cannot be asked (a database outage): no answer, so no logout either
      onStoreError(e);
      return false;
    }
    if (c.closed) return true;
    if (now) {
      c.identity = now;
      endDisallowed(c, now, `not allowed for user ${now.userId} with role ${now.role}`);
      return true;
    }
    c.identity = undefined;
    c.credential = undefined;
    hub.reply(
      c,
      msg.error(
        "AUTH_FAILED",
        'the login of this connection expired or was revoked: send {"op":"auth"} with a new token ' +
          "(the connection is anonymous now; its private channels ended)",
        id,
      ),
    );
    endDisallowed(c, undefined, "the login of this connection expired or was revoked");
    return true;
  }

  /** Ends, with an unasked `unsubscribed`, the private channels `identity` may not see. */
  function endDisallowed(c: Client, identity: Identity | undefined, reason: string): void {
    for (const name of [...c.subs]) {
      const ref = parseChannel(name, identity);
      if (ref.ok && !authorize(ref.channel, identity).ok) {
        hub.unsubscribe(c, name);
        hub.reply(c, msg.unsubscribed(name, undefined, reason));
      }
    }
  }

  async function handle(c: Client, data: unknown): Promise<void> {
    if (c.closed) return;
    if (typeof data !== "string") {
      return hub.reply(c, msg.error("BAD_REQUEST", "send text frames of JSON, not binary", undefined));
    }
    if (overLimit(data)) {
      hub.reply(
        c,
        msg.error("MESSAGE_TOO_BIG", `a message may hold at most ${MAX_CLIENT_MESSAGE} bytes`, undefined),
      );
      hub.disconnect(c);
      return c.socket.close(CLOSE.MESSAGE_TOO_BIG, "message too big");
    }
    const parsed = parseClientOp(data);
    if (!parsed.ok) return hub.reply(c, msg.error("BAD_REQUEST", parsed.message, parsed.id));
    const op = parsed.op;
    switch (op.op) {
      case "ping":
        return hub.reply(c, msg.pong(deps.now(), op.id));
      case "auth": {
        const identity = await identify(op.token);
        if (c.closed) return;
        if (!identity) {
          return hub.reply(
            c,
            msg.error(
              "AUTH_FAILED",
              "the token is invalid or expired; the connection keeps its identity",
              op.id,
            ),
          );
        }
        c.identity = identity;
        c.credential = op.token;
        // a different user: private channels it may not see end here
        endDisallowed(c, identity, `not allowed for user ${identity.userId}`);
        return hub.reply(c, msg.authenticated(identity, op.id));
      }
      case "subscribe": {
        let checked = true;
        if (c.identity && op.channels.some((raw) => PRIVATE_CHANNEL.test(raw))) {
          checked = await recheckIdentity(c, op.id);
          if (c.closed) return;
        }
        for (const raw of op.channels) {
          if (!checked && PRIVATE_CHANNEL.test(raw)) {
            hub.reply(
              c,
              msg.error(
                "UNAVAILABLE",
                "cannot check this connection's login right now; subscribe again",
                op.id,
                raw,
              ),
            );
            continue;
          }
          const r = resolveChannel(raw, c.identity);
          if (!r.ok) {
            hub.reply(c, msg.error(r.code, r.message, op.id, raw));
            continue;
          }
          const ref = r.channel;
          if (!c.subs.has(ref.name) && c.subs.size >= MAX_SUBSCRIPTIONS) {
            hub.reply(
              c,
              msg.error(
                "TOO_MANY_SUBSCRIPTIONS",
                `a connection may hold at most ${MAX_SUBSCRIPTIONS} channels`,
                op.id,
                raw,
              ),
            );
            continue;
          }
          try {
            const why = "symbol" in ref ? await deps.unlisted?.(ref.symbol) : undefined;
            if (why) {
              hub.reply(c, msg.error("UNKNOWN_SYMBOL", why, op.id, raw));
              continue;
            }
            await deps.prepare?.(ref.kind);
          } catch (e) {
            deps.onError(e);
            hub.reply(
              c,
              msg.error("UNAVAILABLE", `cannot open ${ref.name} now; subscribe again`, op.id, raw),
            );
            continue;
          }
          if (c.closed) return;
          // the reply goes out before the snapshot and before any data of the channel
          hub.reply(c, msg.subscribed(ref.name, op.id));
          hub.subscribe(c, channelSpec(ref, loaders));
        }
        return;
      }
      case "unsubscribe":
        for (const raw of op.channels) {
          const r = parseChannel(raw, c.identity);
          if (!r.ok && r.code === "AUTH_REQUIRED") {
            // plain `orders` without a login: nothing of it can be held, so there is nothing to end
            hub.reply(c, msg.unsubscribed(raw, op.id));
            continue;
          }
          if (!r.ok) {
            hub.reply(c, msg.error(r.code, r.message, op.id, raw));
            continue;
          }
          hub.unsubscribe(c, r.channel.name);
          hub.reply(c, msg.unsubscribed(r.channel.name, op.id));
        }
        return;
    }
  }

  /** Takes one op from the client's bucket; false when it is empty. */
  function admit(c: Client): boolean {
    const now = deps.now();
    if (c.opTokens < 0) c.opTokens = OPS_BURST;
    else c.opTokens = Math.min(OPS_BURST, c.opTokens + (now - c.opTokensAt) * OPS_PER_SECOND / 1000);
    c.opTokensAt = now;
    if (c.opTokens >= 1) {
      c.opTokens -= 1;
      c.opRefusedTold = false;
      return true;
    }
    return false;
  }

  const session = (c: Client, data: unknown) => {
    if (c.closed) return;
    if (!admit(c)) {
      // one error per run of refused ops: answering each would cost what the limit saves
      if (!c.opRefusedTold) {
        c.opRefusedTold = true;
        hub.reply(
          c,
          msg.error(
            "RATE_LIMITED",
            `too many operations: at most ${OPS_PER_SECOND} a second (bursts of ${OPS_BURST}); ` +
              "this one and the ones after it until the limit allows again were ignored",
            undefined,
          ),
        );
      }
      return;
    }
    c.ops = c.ops.then(() => handle(c, data)).catch(deps.onError);
  };
  return Object.assign(session, {
    recheckPrivate(c: Client): void {
      if (c.closed || c.credential === undefined || !holdsPrivate(c)) return;
      // in line with the connection's ops, as if it had sent a private subscribe
      // a store outage is not logged per connection every round; the next round asks again
      c.ops = c.ops.then(() => recheckIdentity(c, undefined, () => {})).then(() => {}).catch(deps.onError);
    },
  });
}

function holdsPrivate(c: Client): boolean {
  for (const name of c.subs) if (PRIVATE_CHANNEL.test(name)) return true;
  return false;
}
