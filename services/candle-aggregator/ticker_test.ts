import assert from "node:assert/strict";
import type { Candle } from "@lib/contracts";
import { TickerBook } from "./ticker.ts";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);

function candle(minute: number, open: string, close: string, volume: string): Candle {
  return {
    symbol: "BTC-USD",
    timeframe: "1m",
    openTime: T0 + minute * MINUTE,
    closeTime: T0 + (minute + 1) * MINUTE - 1,
    open,
    high: open > close ? open : close,
    low: open > close ? close : open,
    close,
    volume,
    quoteVolume: "0",
    trades: 1,
    closed: true,
    source: "trade",
  };
}

Deno.test("TickerBook: after a trade the window ends at the symbol's latest bucket", () => {
  const book = new TickerBook();
  book.update([candle(0, "100", "110", "1"), candle(10, "110", "120", "2")]);
  const t = book.ticker("BTC-USD", T0 + 10 * MINUTE + 5)!;
  assert.deepEqual([t.open24h, t.last, t.volume24h, t.trades24h, t.changePct24h], [
    "100",
    "120",
    "3",
    2,
    "20.00",
  ]);
  assert.equal(book.roll(T0 + 11 * MINUTE).length, 0, "nothing has left the window yet");
});

Deno.test("TickerBook.roll(): a quiet symbol's old trades leave its 24 hours, its last price stays", () => {
  const book = new TickerBook();
  book.update([candle(0, "100", "110", "1"), candle(10, "110", "120", "2")]);
  const lastTrade = T0 + 10 * MINUTE + 5;
  book.ticker("BTC-USD", lastTrade);
  // a day and a minute after the first bucket: it has left, the second is still in
  const [a] = book.roll(T0 + 1441 * MINUTE);
  assert.deepEqual([a.open24h, a.last, a.volume24h, a.trades24h, a.ts], ["110", "120", "2", 1, lastTrade]);
  assert.equal(book.roll(T0 + 1441 * MINUTE + 30_000).length, 0, "nothing more to move on");
  // a day after the last trade: nothing traded in 24 hours
  const [b] = book.roll(T0 + 1451 * MINUTE);
  assert.deepEqual(
    [b.last, b.open24h, b.high24h, b.low24h, b.volume24h, b.quoteVolume24h, b.change24h, b.changePct24h],
    ["120", "120", "120", "120", "0", "0", "0", "0.00"],
  );
  assert.equal(b.trades24h, 0);
  assert.equal(b.ts, lastTrade, "ts stays the time of the last trade");
  assert.equal(book.roll(T0 + 3000 * MINUTE).length, 0, "an empty window is written once");
  // trading again starts a new window
  book.update([candle(3000, "130", "131", "1")]);
  const c = book.ticker("BTC-USD", T0 + 3000 * MINUTE)!;
  assert.deepEqual([c.open24h, c.last, c.volume24h], ["130", "131", "1"]);
});

Deno.test("TickerBook.roll() leaves a symbol whose last trade time is unknown until it trades", () => {
  const book = new TickerBook();
  book.update([candle(0, "100", "110", "1")]);
  assert.equal(book.roll(T0 + 2000 * MINUTE).length, 0);
  book.noteLastTrade("BTC-USD", T0 + 30_000);
  assert.equal(book.roll(T0 + 2000 * MINUTE)[0].volume24h, "0");
});
