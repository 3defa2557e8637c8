/**
 * When a WebSocket that stopped talking counts as dead. The gateway sends a heartbeat every
 * `heartbeatMs` (5 s; its `welcome` message says), so silence longer than a few heartbeats means the
 * gateway or the network froze, even while TCP still reports the connection open.
 * @module
 */

/** Heartbeats that may go missing before the connection counts as dead. */
export const MISSED_HEARTBEATS = 3;

/** How long a connection may stay silent: three heartbeats (15 s at the gateway's 5 s). */
export function silenceLimitMs(heartbeatMs: number): number {
  return heartbeatMs * MISSED_HEARTBEATS;
}
