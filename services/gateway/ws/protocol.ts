/**
 * The `/v1/ws` wire protocol: client operations (zod) and server messages (pre-serialised JSON
 * strings, so a message is encoded once however many clients receive it). docs/websocket.md is the
 * human description of everything here.
 */
import { z } from "zod";
import type { ErrorCode, Identity } from "./channels.ts";

/** Largest client frame accepted, in UTF-8 bytes of the text. */
export const MAX_CLIENT_MESSAGE = 16 * 1024;
/** Most channels one connection may hold at once. */
export const MAX_SUBSCRIPTIONS = 100;
/**
 * Client operations a connection may send: a bucket of OPS_BURST refilled at OPS_PER_SECOND. One
 * client flooding subscribes or pings would otherwise hold up the event loop every client shares.
 */
export const OPS_PER_SECOND = 20;
export const OPS_BURST = 100;

/** WebSocket close codes the server uses (the API only allows 1000 and 3000-4999). */
export const CLOSE = {
  /** The client did not read fast enough; its send buffer passed the limit. */
  SLOW_CONSUMER: 4008,
  /** A client frame was larger than MAX_CLIENT_MESSAGE. */
  MESSAGE_TOO_BIG: 4009,
  /** The gateway is shutting down; reconnect (to another instance) after a short delay. */
  SHUTDOWN: 4012,
} as const;

const MAX_ID_LENGTH = 64;
const RequestId = z.union([z.string().max(MAX_ID_LENGTH), z.number()]).optional();
const ChannelList = z.array(z.string()).min(1).max(MAX_SUBSCRIPTIONS);

export const ClientOp = z.discriminatedUnion("op", [
  z.object({ op: z.literal("subscribe"), channels: ChannelList, id: RequestId }),
  z.object({ op: z.literal("unsubscribe"), channels: ChannelList, id: RequestId }),
  z.object({ op: z.literal("auth"), token: z.string().min(1).max(4096), id: RequestId }),
  z.object({ op: z.literal("ping"), id: RequestId }),
]);
export type ClientOp = z.output<typeof ClientOp>;

export type ParsedOp = { ok: true; op: ClientOp } | { ok: false; message: string; id?: string | number };

/** Parses one client text frame. */
export function parseClientOp(text: string): ParsedOp {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      ok: false,
      message: 'a message must be JSON, e.g. {"op":"subscribe","channels":["trades.BTC-USD"]}',
    };
  }
  const r = ClientOp.safeParse(json);
  if (r.success) return { ok: true, op: r.data };
  const id = (json as { id?: unknown })?.id;
  const issue = r.error.issues[0];
  const where = issue.path.length ? issue.path.join(".") : "op";
  return {
    ok: false,
    message:
      `${where}: ${issue.message}; ops are subscribe {channels}, unsubscribe {channels}, auth {token}, ping`,
    // an id is echoed only when it is one the protocol allows (a string of at most 64 characters)
    ...((typeof id === "string" && id.length <= MAX_ID_LENGTH) || typeof id === "number" ? { id } : {}),
  };
}

type Id = string | number | undefined;
function withId<T extends object>(body: T, id: Id): string {
  return JSON.stringify(id === undefined ? body : { ...body, id });
}

/** Server message builders. Each returns the JSON text of one message. */
export const msg = {
  welcome: (heartbeatMs: number) =>
    JSON.stringify({ type: "welcome", heartbeatMs, maxSubscriptions: MAX_SUBSCRIPTIONS }),
  subscribed: (channel: string, id: Id) => withId({ type: "subscribed", channel }, id),
  unsubscribed: (channel: string, id: Id, reason?: string) =>
    withId(reason ? { type: "unsubscribed", channel, reason } : { type: "unsubscribed", channel }, id),
  authenticated: (identity: Identity, id: Id) =>
    withId({ type: "authenticated", userId: identity.userId, role: identity.role }, id),
  error: (code: ErrorCode, message: string, id: Id, channel?: string) =>
    withId(
      channel !== undefined ? { type: "error", code, message, channel } : { type: "error", code, message },
      id,
    ),
  pong: (ts: number, id: Id) => withId({ type: "pong", ts }, id),
  heartbeat: (ts: number) => `{"type":"heartbeat","ts":${ts}}`,
  /** A data message of a channel; `extra` fields (book: `seq`) sit beside `data`. */
  data: (channel: string, type: string, data: unknown, extra?: Record<string, unknown>) =>
    JSON.stringify(extra ? { channel, type, ...extra, data } : { channel, type, data }),
  /** The original Kalency's frames on /ws/trades and /ws/ticks. */
  legacy: (type: "trade" | "tick", data: unknown) => JSON.stringify({ type, data }),
};
