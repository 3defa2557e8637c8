/**
 * Hono's WebSocket helper for Deno, reading the upgrade request as RFC 6455 and 9110 define it:
 * the `Upgrade` token is case-insensitive (`Upgrade: WebSocket` is as valid as `websocket`) and
 * may come in a list. Hono's own helper compares the header with "websocket" exactly, so such a
 * client got 426. A request Deno refuses to upgrade (no `Sec-WebSocket-Key`, say) is answered 400
 * with Deno's reason instead of failing as a server error.
 * @module
 */
import { defineWebSocketHelper, WSContext } from "hono/ws";
import { problemBody } from "../errors.ts";

/** Whether a request asks to be upgraded to a WebSocket (the `Upgrade` header names it). */
export function asksForWebSocket(upgrade: string | undefined): boolean {
  if (!upgrade) return false;
  return upgrade.split(",").some((token) => token.trim().toLowerCase() === "websocket");
}

export const upgradeWebSocket = defineWebSocketHelper<WebSocket, Deno.UpgradeWebSocketOptions>(
  (c, events, options) => {
    if (!asksForWebSocket(c.req.header("upgrade"))) return;
    const protocol = c.req.header("sec-websocket-protocol")?.split(",")[0]?.trim();
    let upgraded: { response: Response; socket: WebSocket };
    try {
      upgraded = Deno.upgradeWebSocket(c.req.raw, { ...(protocol ? { protocol } : {}), ...options });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const body = problemBody(400, "BAD_UPGRADE", `this WebSocket upgrade request is not valid: ${why}`);
      return c.body(JSON.stringify(body), 400, { "content-type": "application/problem+json" });
    }
    const { response, socket } = upgraded;
    const ws = new WSContext<WebSocket>({
      close: (code, reason) => socket.close(code, reason),
      get protocol() {
        return socket.protocol;
      },
      raw: socket,
      get readyState() {
        return socket.readyState as 0 | 1 | 2 | 3;
      },
      url: socket.url ? new URL(socket.url) : null,
      send: (data) => socket.send(data),
    });
    socket.onopen = (e) => events.onOpen?.(e, ws);
    socket.onmessage = (e) => events.onMessage?.(e, ws);
    socket.onclose = (e) => events.onClose?.(e, ws);
    socket.onerror = (e) => events.onError?.(e, ws);
    return response;
  },
);
