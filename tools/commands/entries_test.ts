import assert from "node:assert/strict";
import { createStyle } from "../format.ts";
import { describeMessage, matchesFilter, resolveStream, type ShownEntry } from "./entries.ts";

const plain = createStyle(false);

const CANDLE = {
  symbol: "BTC-USD",
  timeframe: "1m",
  openTime: 0,
  closeTime: 60_000,
  open: "1",
  high: "2",
  low: "0.5",
  close: "1.5",
  volume: "10",
  quoteVolume: "15",
  trades: 4,
  closed: true,
  source: "trade",
};

Deno.test("describeMessage() shows the key fields of every stream's messages", async (t) => {
  const cases: [stream: string, message: unknown, expected: RegExp][] = [
    [
      "book",
      { symbol: "BTC-USD", seq: 7, bids: [["65000.00", "0.5"]], asks: [], ts: 1 },
      /^BTC-USD #7 bids 65000\.00x0\.5 asks -$/,
    ],
    [
      "ticks",
      { symbol: "ETH-USD", price: "3200.10", delta: "-0.0012", volume: "1.5", regime: "calm", ts: 1 },
      /^ETH-USD 3200\.10 delta -0\.0012 vol 1\.5 regime=calm$/,
    ],
    [
      "candles",
      CANDLE,
      /^BTC-USD \d\d:\d\d:\d\d\.000 O 1 H 2 L 0\.5 C 1\.5 V 10 n=4 closed$/,
    ],
    [
      "candles",
      { ...CANDLE, closed: false, source: "index" },
      /^BTC-USD \d\d:\d\d:\d\d\.000 O 1 H 2 L 0\.5 C 1\.5 V 10 n=4 \(index: from ticks\)$/,
    ],
    [
      "sim-control",
      { action: "volatility", profile: "crash", symbol: "BTC-USD", ts: 1 },
      /^profile=crash symbol=BTC-USD$/,
    ],
    [
      "orders",
      { type: "deposit", cmdId: "c1", userId: "u1", asset: "USD", amount: "10" },
      /^user=u1 10 USD cmd=c1$/,
    ],
    [
      "orders",
      { type: "cancel", cmdId: "c2", userId: "u1", orderId: "ord-9" },
      /^user=u1 order=ord-9 cmd=c2$/,
    ],
    ["replies:gw-1", { ok: true, cmdId: "c3", orders: [{}, {}] }, /^2 orders cmd=c3$/],
    ["wallet", {
      userId: "u1",
      asset: "USD",
      freeDelta: "-5",
      lockedDelta: "5",
      free: "95",
      locked: "5",
      reason: "LOCK",
      ts: 1,
    }, /^user=u1 USD free -5 \(=95\) locked \+5 \(=5\)$/],
  ];
  for (const [stream, message, expected] of cases) {
    await t.step(`${stream} ${JSON.stringify(message).slice(0, 40)}`, () => {
      assert.match(describeMessage(stream, message, plain), expected);
    });
  }
});

Deno.test("resolveStream() accepts short names, contract keys, reply and dead streams", () => {
  assert.equal(resolveStream("p", "order-events").key, "p:stream:order-events");
  assert.equal(resolveStream("p", "orderEvents").name, "order-events");
  assert.equal(resolveStream("p", "replies:gw-1").key, "p:stream:replies:gw-1");
  const dead = resolveStream("p", "wallet:dead");
  assert.equal(dead.key, "p:stream:wallet:dead");
  assert.equal(dead.dead, true);
  assert.throws(() => resolveStream("p", "replies:"), /unknown stream/);
  assert.throws(() => resolveStream("p", "trades"), /unknown stream "trades"/);
});

Deno.test("matchesFilter() finds symbols and users anywhere in a message", () => {
  const e: ShownEntry = {
    stream: "order-events",
    id: "1-0",
    ts: 1,
    type: "TRADE",
    value: { event: "TRADE", order: { symbol: "BTC-USD", userId: "alice" }, tradeId: "t" },
  };
  assert.ok(matchesFilter(e, { symbol: "btc-usd" }));
  assert.ok(matchesFilter(e, { user: "alice", type: "trade" }));
  assert.ok(!matchesFilter(e, { user: "bob" }));
  assert.ok(!matchesFilter(e, { symbol: "ETH-USD" }));
});
