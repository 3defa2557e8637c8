/**
 * Live channels that add to what a REST read returned (trades, candles): what happened between
 * that read and the subscription is read again.
 * @module
 */
import type { ChannelListener, ChannelMessage } from "../gateway_client.ts";

/** The part of `MarketSocket` this needs. */
export interface Subscribable {
  subscribe(channel: string, listener: ChannelListener): () => void;
}

/**
 * Follows `channel`, calling `catchUp` each time it is subscribed: the first time too, because the
 * page's data was read on the server before the browser loaded the scripts, and trades or closed
 * candles of those seconds come on no channel. After a reconnect it fills in the time away.
 * Returns the function that stops following.
 */
export function followWithCatchUp(
  socket: Subscribable,
  channel: string,
  catchUp: () => void,
  onMessage: (message: ChannelMessage) => void,
): () => void {
  return socket.subscribe(channel, (m) => {
    if (m.type === "subscribed") catchUp();
    else onMessage(m as ChannelMessage);
  });
}
