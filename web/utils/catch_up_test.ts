import assert from "node:assert/strict";
import type { ChannelListener } from "../gateway_client.ts";
import { followWithCatchUp } from "./catch_up.ts";

function fakeSocket() {
  const listeners = new Map<string, ChannelListener>();
  return {
    listeners,
    subscribe(channel: string, listener: ChannelListener) {
      listeners.set(channel, listener);
      return () => listeners.delete(channel);
    },
  };
}

Deno.test("followWithCatchUp() reads again on the first subscription, not only after a reconnect", () => {
  const socket = fakeSocket();
  const calls: string[] = [];
  const stop = followWithCatchUp(socket, "trades.BTC-USD", () => calls.push("catch up"), (m) => {
    calls.push(`message ${m.type}`);
  });
  const listener = socket.listeners.get("trades.BTC-USD")!;
  // trades between the server's render and this subscription come on no channel
  listener({ channel: "trades.BTC-USD", type: "subscribed" });
  listener({ channel: "trades.BTC-USD", type: "trade", data: { tradeId: "t1" } });
  // a reconnect
  listener({ channel: "trades.BTC-USD", type: "subscribed" });
  assert.deepEqual(calls, ["catch up", "message trade", "catch up"]);
  stop();
  assert.equal(socket.listeners.size, 0);
});
