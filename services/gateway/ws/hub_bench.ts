/**
 * The hub's JavaScript cost of one fan-out tick: 20 trade messages to 1,000 clients, flushed as one
 * array frame each. Sockets are fakes that drop the frame, so this is the deliver + batch cost only
 * (the real send is measured end to end by bench/fanout.ts).
 */
import { type FeedSocket, Hub } from "./hub.ts";
import { msg } from "./protocol.ts";
import { trade } from "./_testing.ts";

const sink: FeedSocket = { send() {}, close() {}, readyState: 1, bufferedAmount: 0 };
const messages = Array.from(
  { length: 20 },
  (_, i) => msg.data("trades.BTC-USD", "trade", trade("BTC-USD", i + 1)),
);

function setup(sameChannels: boolean): Hub {
  const hub = new Hub({ maxBufferedBytes: 1 << 30, batchMs: 1 << 30, loadFailed: () => "" });
  for (let i = 0; i < 1000; i++) {
    const c = hub.connect(sink, "v1");
    hub.subscribe(c, { name: "trades.BTC-USD", kind: "trades" });
    // a private channel with traffic of its own makes every outbox unique
    if (!sameChannels) hub.subscribe(c, { name: `orders.u${i}`, kind: "orders" });
  }
  return hub;
}

for (const same of [true, false]) {
  const hub = setup(same);
  const own = Array.from({ length: 1000 }, (_, i) => `{"channel":"orders.u${i}","type":"order","data":{}}`);
  Deno.bench({
    group: "fan-out tick: 20 trades to 1,000 clients",
    name: same ? "clients on the same channels (frames shared)" : "every outbox different (one frame each)",
    baseline: same,
    fn() {
      for (const m of messages) hub.deliver("trades.BTC-USD", m);
      if (!same) { for (let i = 0; i < 1000; i++) hub.deliver(`orders.u${i}`, own[i]); }
      hub.flush();
    },
  });
}
