import assert from "node:assert/strict";
import { type Candle, keys, STREAMS, type Tick, type Ticker, type WalletView } from "@lib/contracts";
import { publishBatch } from "@lib/redis";
import { waitFor } from "@lib/testing";
import {
  BookWriter,
  FAILING,
  orderEvent,
  replayBook,
  startFeed,
  TOKENS,
  trade,
  walletEvent,
} from "./_testing.ts";
import { OPS_BURST } from "./protocol.ts";

function candle(symbol: string, timeframe: Candle["timeframe"], close: string): Candle {
  return {
    symbol,
    timeframe,
    openTime: 1_764_000_000_000,
    closeTime: 1_764_000_060_000,
    open: "100",
    high: "101",
    low: "99",
    close,
    volume: "2",
    quoteVolume: "200",
    trades: 2,
    closed: false,
    source: "trade",
  };
}

function tick(symbol: string, price: string): Tick {
  return { symbol, price, delta: "0.001", volume: "1.5", regime: "normal", ts: Date.now() };
}

Deno.test("/v1/ws candles: trade candles and index candles each have their own channel", async () => {
  await using f = await startFeed();
  const c = await f.client();
  await c.take((m) => m.type === "welcome");
  c.send({ op: "subscribe", channels: ["candles.BTC-USD.1m", "candles.BTC-USD.1m.index"] });
  await c.take((m) => m.type === "subscribed" && m.channel === "candles.BTC-USD.1m.index");
  // the same openTime in both series: a client keyed by openTime must never see them mixed
  await publishBatch(f.redis, f.prefix, STREAMS.candles, [
    { ...candle("BTC-USD", "1m", "2"), source: "index" },
    candle("BTC-USD", "1m", "3"),
  ]);
  const byTrade = await c.take((m) => m.channel === "candles.BTC-USD.1m");
  const byIndex = c.on("candles.BTC-USD.1m.index").filter((m) => m.type === "candle");
  assert.equal(byTrade.data.source, "trade");
  assert.equal(byTrade.data.close, "3");
  assert.equal(byIndex.length, 1);
  assert.equal(byIndex[0].data.source, "index");
  assert.equal(byIndex[0].data.close, "2");
  assert.equal(c.on("candles.BTC-USD.1m").filter((m) => m.type === "candle").length, 1);
});

Deno.test("/v1/ws subscribe delivers trades and candles of the channel only; unsubscribe stops them", async () => {
  await using f = await startFeed();
  const c = await f.client();
  const welcome = await c.take((m) => m.type === "welcome");
  assert.equal(welcome.heartbeatMs, 5_000, "a hung gateway shows within about 12 s");

  c.send({ op: "subscribe", channels: ["trades.btc-usd", "trades.ETH-USD", "candles.BTC-USD.1M"], id: 1 });
  for (const channel of ["trades.BTC-USD", "trades.ETH-USD", "candles.BTC-USD.1m"]) {
    const m = await c.take((m) => m.type === "subscribed");
    assert.deepEqual(m, { type: "subscribed", channel, id: 1 });
  }

  const t1 = trade("BTC-USD", 1);
  await publishBatch(f.redis, f.prefix, STREAMS.executions, [t1, trade("BTC-ETH", 1)]);
  await publishBatch(f.redis, f.prefix, STREAMS.candles, [
    candle("BTC-USD", "5m", "1"),
    candle("BTC-USD", "1m", "2"),
  ]);
  const got = await c.take((m) => m.channel === "trades.BTC-USD");
  assert.deepEqual(got, { channel: "trades.BTC-USD", type: "trade", data: t1 });
  const cd = await c.take((m) => m.channel === "candles.BTC-USD.1m");
  assert.equal(cd.type, "candle");
  assert.equal(cd.data.close, "2");
  assert.equal(
    c.messages.filter((m) => m.data?.symbol === "BTC-ETH" || m.data?.timeframe === "5m").length,
    0,
  );

  assert.deepEqual(await c.request({ op: "unsubscribe", channels: ["trades.BTC-USD"] }), {
    type: "unsubscribed",
    channel: "trades.BTC-USD",
    id: (c.messages.at(-1) as { id: string }).id,
  });
  // same stream, published after: once the ETH trade is here, a BTC trade would have come before it
  await publishBatch(f.redis, f.prefix, STREAMS.executions, [trade("BTC-USD", 2), trade("ETH-USD", 1)]);
  await c.take((m) => m.channel === "trades.ETH-USD");
  assert.equal(c.on("trades.BTC-USD").filter((m) => m.type === "trade").length, 1);
  assert.equal(f.metric("gateway_ws_subscriptions", '{channel="trades"}'), 1);
  assert.equal(f.metric("gateway_ws_clients", '{route="v1"}'), 1);
  assert.ok(f.metric("gateway_ws_messages_sent_total", '{route="v1"}') >= 3);
});

Deno.test("/v1/ws validates only entries a client listens to, and skips the bad ones it would get", async () => {
  await using f = await startFeed();
  const key = `${f.prefix}:stream:${STREAMS.executions.name}`;
  const bad = (symbol: string) => ({ type: "execution", payload: JSON.stringify({ symbol, seq: "x" }) });
  // nobody listens to trades yet: the stream's entries are not looked at
  await f.redis.xAdd(key, "*", bad("BTC-USD"));
  const c = await f.client();
  await c.request({ op: "subscribe", channels: ["trades.BTC-USD"] });
  await f.redis.xAdd(key, "*", bad("ETH-USD")); // a channel nobody listens to: not validated
  await f.redis.xAdd(key, "*", bad("BTC-USD")); // would go to the client: validated and skipped
  await f.redis.xAdd(key, "*", { type: "execution", payload: "{" });
  const t = trade("BTC-USD", 1);
  await publishBatch(f.redis, f.prefix, STREAMS.executions, [t]);
  assert.deepEqual((await c.take((m) => m.channel === "trades.BTC-USD" && m.type === "trade")).data, t);
  assert.equal(c.on("trades.BTC-USD").filter((m) => m.type === "trade").length, 1);
  assert.equal(f.metric("gateway_ws_stream_decode_errors_total", '{stream="executions"}'), 2);
});

Deno.test("/v1/ws answers bad input with error messages and keeps the connection", async () => {
  await using f = await startFeed();
  const c = await f.client();
  c.send("not json");
  assert.equal((await c.take((m) => m.type === "error")).code, "BAD_REQUEST");
  const bad = await c.request({ op: "subscribe", channels: ["book.BTCUSD"] }, "error");
  assert.equal(bad.code, "UNKNOWN_CHANNEL");
  assert.equal(bad.channel, "book.BTCUSD");
  assert.match(bad.message, /BASE-QUOTE/);
  const tf = await c.request({ op: "subscribe", channels: ["candles.BTC-USD.2m"] }, "error");
  assert.match(tf.message, /1s, 5s, 1m, 5m, 1h, 1d/);
  const op = await c.request({ op: "hello" }, "error");
  assert.equal(op.code, "BAD_REQUEST");
  // an id longer than the protocol allows is refused, and not echoed back
  c.send({ op: "ping", id: "y".repeat(65) });
  const longId = await c.take((m) => m.type === "error" && /id/.test(m.message));
  assert.equal(longId.code, "BAD_REQUEST");
  assert.equal(longId.id, undefined);
  const pong = await c.request({ op: "ping", id: "p1" });
  assert.equal(pong.type, "pong");
  assert.equal(typeof pong.ts, "number");
  c.send({ op: "ping", id: "x".repeat(17_000) });
  assert.equal((await c.take((m) => m.type === "error")).code, "MESSAGE_TOO_BIG");
  assert.equal((await c.closed).code, 4009);
});

Deno.test("/v1/ws counts the message limit in UTF-8 bytes", async () => {
  await using f = await startFeed();
  const c = await f.client();
  // 6,000 characters, 18,000 bytes: over 16 KiB although its length in characters is not
  c.send({ op: "ping", pad: "€".repeat(6_000) });
  assert.equal((await c.take((m) => m.type === "error")).code, "MESSAGE_TOO_BIG");
  assert.equal((await c.closed).code, 4009);
  const ok = await f.client();
  assert.equal((await ok.request({ op: "ping", pad: "€".repeat(5_000) })).type, "pong");
});

Deno.test("/v1/ws refuses a flood of operations with one RATE_LIMITED error, then admits again", async () => {
  await using f = await startFeed();
  const c = await f.client();
  for (let i = 0; i < OPS_BURST + 50; i++) c.send({ op: "ping", id: i });
  const limited = await c.take((m) => m.type === "error");
  assert.equal(limited.code, "RATE_LIMITED");
  assert.match(limited.message, /at most 20 a second/);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(c.messages.filter((m) => m.type === "pong").length, OPS_BURST);
  assert.equal(c.messages.filter((m) => m.type === "error").length, 1);
  // the bucket refills: a little later the connection works again
  const pong = await c.request({ op: "ping", id: "after" });
  assert.equal(pong.type, "pong");
  assert.equal(pong.id, "after");
});

Deno.test("/v1/ws book sends the snapshot with its seq, then the deltas after it", async () => {
  await using f = await startFeed();
  const book = new BookWriter(f.redis, f.prefix);
  await book.apply([[{ side: "bids", price: "100", qty: "1" }], [{ side: "asks", price: "101", qty: "2" }]]);
  const c = await f.client();
  c.send({ op: "subscribe", channels: ["book.BTC-USD"] });
  const snap = await c.take((m) => m.type === "snapshot");
  assert.equal(snap.channel, "book.BTC-USD");
  assert.equal(snap.seq, 2);
  assert.deepEqual(snap.data.bids, [{ price: "100", qty: "1", orders: 1 }]);
  assert.deepEqual(snap.data.asks, [{ price: "101", qty: "2", orders: 1 }]);

  await book.apply([[{ side: "bids", price: "100", qty: "0" }], [{ side: "bids", price: "99.5", qty: "3" }]]);
  const d3 = await c.take((m) => m.type === "delta");
  assert.deepEqual({ seq: d3.seq, bids: d3.data.bids }, { seq: 3, bids: [["100", "0"]] });
  assert.equal((await c.take((m) => m.type === "delta")).seq, 4);
  const mine = replayBook(c.on("book.BTC-USD"));
  assert.deepEqual([...mine.bids], [["99.5", "3"]]);

  // a book nobody has written yet starts at seq 0; its first delta is seq 1
  const eth = new BookWriter(f.redis, f.prefix, "ETH-USD");
  const e0 = await c.request({ op: "subscribe", channels: ["book.ETH-USD"] });
  assert.equal(e0.type, "subscribed");
  assert.equal((await c.take((m) => m.channel === "book.ETH-USD" && m.type === "snapshot")).seq, 0);
  await eth.apply([[{ side: "asks", price: "3200", qty: "1" }]]);
  assert.equal((await c.take((m) => m.channel === "book.ETH-USD" && m.type === "delta")).seq, 1);
});

Deno.test("/v1/ws book gap: a client that sees seq jump resubscribes and gets a consistent snapshot", async () => {
  await using f = await startFeed();
  const book = new BookWriter(f.redis, f.prefix);
  await book.apply([[{ side: "bids", price: "100", qty: "1" }]]);
  const c = await f.client();
  c.send({ op: "subscribe", channels: ["book.BTC-USD"] });
  assert.equal((await c.take((m) => m.type === "snapshot")).seq, 1);

  // the engine's seqs 2 and 3 never reach the stream (lost upstream); the read model has them
  await book.apply([[{ side: "asks", price: "105", qty: "1" }], [{ side: "asks", price: "104", qty: "1" }]], {
    lose: true,
  });
  await book.apply([[{ side: "bids", price: "100", qty: "4" }]]);
  const jump = await c.take((m) => m.type === "delta");
  // the client's rule: a delta must carry seq = last seq + 1
  let seen = 1;
  if (jump.seq !== seen + 1) {
    c.send({ op: "subscribe", channels: ["book.BTC-USD"] });
  }
  assert.equal(jump.seq, 4);
  const resync = await c.take((m) => m.type === "snapshot");
  seen = resync.seq;
  assert.equal(resync.seq, book.seq);
  await book.apply([[{ side: "bids", price: "99", qty: "2" }]]);
  const next = await c.take((m) => m.type === "delta");
  assert.equal(next.seq, seen + 1);
  const after = replayBook(c.on("book.BTC-USD").slice(c.on("book.BTC-USD").indexOf(resync)));
  assert.deepEqual([...after.asks].sort(), [["104", "1"], ["105", "1"]]);
  assert.deepEqual(new Map(after.bids), new Map([["100", "4"], ["99", "2"]]));
  assert.ok(f.metric("gateway_ws_book_seq_gaps_total") >= 1);
});

Deno.test("/v1/ws book stays consistent for clients subscribing while deltas stream in", async () => {
  await using f = await startFeed();
  const book = new BookWriter(f.redis, f.prefix);
  const clients = await Promise.all([0, 1, 2, 3, 4].map(() => f.client()));
  let running = true;
  const writer = (async () => {
    for (let i = 0; running && i < 400; i++) {
      const price = String(100 + (i % 17));
      await book.apply([[{ side: i % 2 ? "bids" : "asks", price, qty: i % 5 === 0 ? "0" : String(i) }]]);
    }
  })();
  for (const c of clients) {
    c.send({ op: "subscribe", channels: ["book.BTC-USD"] });
    await new Promise((r) => setTimeout(r, 15));
  }
  // one client resyncs in the middle of the flow, once its first snapshot is in (a subscribe while
  // the snapshot still loads shares that load, by design)
  await clients[0].take((m) => m.channel === "book.BTC-USD" && m.type === "snapshot", "the first snapshot");
  clients[0].send({ op: "subscribe", channels: ["book.BTC-USD"] });
  await clients[0].take(
    (m) => m.channel === "book.BTC-USD" && m.type === "snapshot",
    "the resync snapshot",
    15_000,
  );
  await waitFor(() => book.seq >= 150, { what: "deltas" });
  running = false;
  await writer;
  for (const c of clients) {
    // the last seq arrives as a delta, or inside a snapshot when a (re)subscription loads after it
    // (possibly the resync snapshot taken above, when the writer finished first)
    await waitFor(
      () =>
        c.on("book.BTC-USD").some((m) => (m.type === "delta" || m.type === "snapshot") && m.seq === book.seq),
      { what: `seq ${book.seq}` },
    );
    const mine = replayBook(c.on("book.BTC-USD"));
    assert.equal(mine.seq, book.seq);
    assert.deepEqual(new Map([...mine.bids]), book.bids);
    assert.deepEqual(new Map([...mine.asks]), book.asks);
  }
  assert.equal(clients[0].on("book.BTC-USD").filter((m) => m.type === "snapshot").length, 2);
});

Deno.test("/v1/ws private channels: own orders and wallet only, admins may watch anyone", async () => {
  await using f = await startFeed();
  await f.redis.hSet(
    keys.wallets(f.prefix),
    "alice",
    JSON.stringify(
      {
        userId: "alice",
        balances: [{ asset: "USD", free: "100000", locked: "0" }],
        updatedAt: 5,
      } satisfies WalletView,
    ),
  );
  const anon = await f.client();
  const a1 = await anon.request({ op: "subscribe", channels: ["orders"] }, "error");
  assert.equal(a1.code, "AUTH_REQUIRED");
  const a2 = await anon.request({ op: "subscribe", channels: ["wallet.alice"] }, "error");
  assert.equal(a2.code, "AUTH_REQUIRED");

  const alice = await f.client("/v1/ws?token=tok-alice");
  assert.deepEqual(await alice.take((m) => m.type === "authenticated"), {
    type: "authenticated",
    userId: "alice",
    role: "user",
  });
  const forbidden = await alice.request({ op: "subscribe", channels: ["orders.bob"] }, "error");
  assert.equal(forbidden.code, "FORBIDDEN");
  assert.match(forbidden.message, /belongs to user bob; you are authenticated as alice/);
  assert.equal((await alice.request({ op: "subscribe", channels: ["orders"] })).channel, "orders.alice");
  assert.equal((await alice.request({ op: "subscribe", channels: ["wallet"] })).channel, "wallet.alice");
  const wsnap = await alice.take((m) => m.channel === "wallet.alice" && m.type === "snapshot");
  assert.equal(wsnap.data.balances[0].free, "100000");

  const bob = await f.client();
  assert.equal((await bob.request({ op: "auth", token: "tok-bob" })).type, "authenticated");
  await bob.request({ op: "subscribe", channels: ["orders", "wallet"] });
  const root = await f.client("/v1/ws?token=tok-root");
  assert.equal((await root.request({ op: "subscribe", channels: ["orders.bob"] })).type, "subscribed");

  await publishBatch(f.redis, f.prefix, STREAMS.orderEvents, [
    orderEvent("bob", "o-b1"),
    orderEvent("alice", "o-a1"),
  ]);
  await publishBatch(f.redis, f.prefix, STREAMS.wallet, [
    walletEvent("bob", "10"),
    walletEvent("alice", "99999"),
  ]);
  assert.equal((await alice.take((m) => m.channel === "orders.alice")).data.order.orderId, "o-a1");
  assert.equal((await alice.take((m) => m.type === "wallet")).data.free, "99999");
  assert.equal((await bob.take((m) => m.type === "order")).data.order.orderId, "o-b1");
  assert.equal((await root.take((m) => m.type === "order")).data.order.orderId, "o-b1");
  assert.equal(
    alice.messages.filter((m) => m.data?.userId === "bob" || m.data?.order?.userId === "bob").length,
    0,
  );
  assert.equal(
    bob.messages.filter((m) => m.data?.userId === "alice" || m.data?.order?.userId === "alice").length,
    0,
  );
  assert.equal(anon.messages.filter((m) => m.data).length, 0);

  // a bad token is refused and leaves the identity alone; switching user ends the old private channels
  assert.equal((await alice.request({ op: "auth", token: "expired" })).code, "AUTH_FAILED");
  alice.send({ op: "auth", token: "tok-bob", id: "sw" });
  const ended = [
    await alice.take((m) => m.type === "unsubscribed"),
    await alice.take((m) => m.type === "unsubscribed"),
  ].map((m) => m.channel).sort();
  assert.deepEqual(ended, ["orders.alice", "wallet.alice"]);
  assert.equal((await alice.take((m) => m.id === "sw")).userId, "bob");

  const bad = await f.client("/v1/ws?token=nope");
  assert.equal((await bad.take((m) => m.type === "error")).code, "AUTH_FAILED");
});

Deno.test("/v1/ws checks a connection's token again at each private subscribe: expiry, revocation, role", async () => {
  await using f = await startFeed();
  TOKENS["tok-carol"] = { userId: "carol", role: "admin" };
  try {
    const carol = await f.client();
    assert.equal((await carol.request({ op: "auth", token: "tok-carol" })).role, "admin");
    assert.equal((await carol.request({ op: "subscribe", channels: ["wallet.alice"] })).type, "subscribed");

    // the store cannot be asked: private subscribes wait, nobody is logged out
    FAILING.add("tok-carol");
    const down = await carol.request({ op: "subscribe", channels: ["orders.alice"] }, "error");
    assert.equal(down.code, "UNAVAILABLE");
    FAILING.delete("tok-carol");

    // demoted: REST sees a user from the next token on, and so does the next subscribe; the
    // admin-only channel it held ends
    TOKENS["tok-carol"] = { userId: "carol", role: "user" };
    carol.send({ op: "subscribe", channels: ["orders.alice"], id: "demoted" });
    const ended = await carol.take((m) => m.type === "unsubscribed" && m.channel === "wallet.alice");
    assert.match(ended.reason, /not allowed for user carol with role user/);
    assert.equal((await carol.take((m) => m.id === "demoted")).code, "FORBIDDEN");
    assert.equal((await carol.request({ op: "subscribe", channels: ["orders"] })).channel, "orders.carol");

    // expired or revoked: the connection is anonymous from here on, its private channels end;
    // public channels still open
    delete TOKENS["tok-carol"];
    carol.send({ op: "subscribe", channels: ["wallet", "trades.BTC-USD"], id: "late" });
    const lapsed = await carol.take((m) => m.id === "late" && m.code === "AUTH_FAILED");
    assert.match(lapsed.message, /expired or was revoked: send \{"op":"auth"\} with a new token/);
    const own = await carol.take((m) => m.type === "unsubscribed" && m.channel === "orders.carol");
    assert.match(own.reason, /expired or was revoked/);
    assert.equal((await carol.take((m) => m.id === "late" && m.code === "AUTH_REQUIRED")).channel, "wallet");
    assert.equal(
      (await carol.take((m) => m.id === "late" && m.type === "subscribed")).channel,
      "trades.BTC-USD",
    );

    // an anonymous unsubscribe of a private channel holds nothing to end: it is answered, not refused
    const anon = await f.client();
    assert.deepEqual(await anon.request({ op: "unsubscribe", channels: ["orders"], id: 1 }), {
      type: "unsubscribed",
      channel: "orders",
      id: 1,
    });
    const empty = await anon.request({ op: "subscribe", channels: [""] }, "error");
    assert.equal(empty.channel, "", "the error echoes the name as sent, even an empty one");
  } finally {
    delete TOKENS["tok-carol"];
  }
});

Deno.test("/v1/ws ticker and ticks channels", async () => {
  await using f = await startFeed();
  const ticker = (last: string, ts: number): Ticker => ({
    symbol: "BTC-USD",
    last,
    open24h: "64000",
    high24h: "66000",
    low24h: "63000",
    volume24h: "12.5",
    quoteVolume24h: "812500",
    change24h: "1000",
    changePct24h: "1.56",
    trades24h: 42,
    ts,
  });
  await f.redis.set(keys.ticker(f.prefix, "BTC-USD"), JSON.stringify(ticker("65000", 1)));
  const c = await f.client();
  c.send({ op: "subscribe", channels: ["ticker.BTC-USD", "ticks.BTC-USD"] });
  assert.equal((await c.take((m) => m.type === "ticker")).data.last, "65000");
  await f.redis.set(keys.ticker(f.prefix, "BTC-USD"), JSON.stringify(ticker("65100", 2)));
  assert.equal((await c.take((m) => m.type === "ticker", "the changed ticker", 4000)).data.last, "65100");
  await publishBatch(f.redis, f.prefix, STREAMS.ticks, [
    tick("ETH-USD", "3200"),
    tick("BTC-USD", "65010.25"),
  ]);
  const t = await c.take((m) => m.type === "tick");
  assert.equal(t.channel, "ticks.BTC-USD");
  assert.equal(t.data.price, "65010.25");
});

Deno.test("/ws/trades/{symbol} replays 20 recent trades oldest first, then live trades of the symbol", async () => {
  await using f = await startFeed();
  const recent = Array.from({ length: 25 }, (_, i) => trade("BTC-USD", i + 1));
  // the read model is newest first
  await f.redis.lPush(keys.trades(f.prefix, "BTC-USD"), recent.map((t) => JSON.stringify(t)));
  const c = await f.client("/ws/trades/btc-usd");
  const replay = [];
  for (let i = 0; i < 20; i++) replay.push(await c.take(() => true));
  assert.deepEqual(replay.map((m) => m.data.seq), Array.from({ length: 20 }, (_, i) => i + 6));
  assert.deepEqual(replay[0], { type: "trade", data: recent[5] });
  assert.equal(typeof replay[0].data.price, "string");
  c.send("client messages are ignored here");
  // seq 25 is in the replay: a late stream copy of it is not sent again
  await publishBatch(f.redis, f.prefix, STREAMS.executions, [
    recent[24],
    trade("ETH-USD", 1),
    trade("BTC-USD", 26),
  ]);
  const live = await c.take(() => true);
  assert.equal(live.data.seq, 26);
  assert.equal(live.data.symbol, "BTC-USD");
  assert.equal(c.frames, 21);
  assert.equal(f.metric("gateway_ws_clients", '{route="trades"}'), 1);
});

Deno.test("/ws/ticks/{symbol} sends the original tick shape for that symbol, matched case-insensitively", async () => {
  await using f = await startFeed();
  const c = await f.client("/ws/ticks/eth-usd");
  const t = tick("ETH-USD", "3201.5");
  await publishBatch(f.redis, f.prefix, STREAMS.ticks, [tick("BTC-USD", "65000"), t]);
  assert.deepEqual(await c.take(() => true), {
    type: "tick",
    data: { symbol: "ETH-USD", price: "3201.5", volume: "1.5", ts: t.ts },
  });
  assert.equal(c.messages.length, 1);
});

Deno.test("WebSocket routes refuse plain HTTP and bad symbols with problem+json", async () => {
  await using f = await startFeed();
  const r = await fetch(`${f.http}/v1/ws`);
  assert.equal(r.status, 426);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  assert.equal((await r.json()).code, "UPGRADE_REQUIRED");
  const s = await fetch(`${f.http}/ws/trades/BTCUSD`, { headers: { upgrade: "websocket" } });
  assert.equal(s.status, 400);
  assert.deepEqual(await s.json(), {
    type: "https://kalency.dev/problems/invalid-symbol",
    title: "Bad Request",
    status: 400,
    code: "INVALID_SYMBOL",
    detail: "symbol must be BASE-QUOTE, e.g. BTC-USD",
  });
});

Deno.test("the Upgrade header is read case-insensitively and as a list, as HTTP defines it", async () => {
  await using f = await startFeed();
  for (const upgrade of ["WebSocket", "WEBSOCKET", "h2c, websocket"]) {
    const c = await f.raw("/v1/ws", upgrade); // throws unless the answer is 101
    await c.sendText(JSON.stringify({ op: "ping" }));
  }
  // Deno refuses to upgrade without Sec-WebSocket-Key: a 400 that says why, not a server error
  const r = await fetch(`${f.http}/v1/ws`, { headers: { upgrade: "websocket", connection: "Upgrade" } });
  assert.equal(r.status, 400);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  const body = await r.json();
  assert.equal(body.code, "BAD_UPGRADE");
  assert.match(body.detail, /^this WebSocket upgrade request is not valid: .*sec-websocket-key/i);
});

Deno.test("symbols that are not listed are refused on every WebSocket route, as REST refuses them", async () => {
  await using f = await startFeed();
  await f.redis.hSet(keys.markets(f.prefix), { "BTC-USD": "{}", "ETH-USD": "{}" });
  const c = await f.client();
  for (const channel of ["book.NOPE-USD", "trades.NOPE-USD", "ticker.NOPE-USD", "candles.NOPE-USD.1m"]) {
    const refused = await c.request({ op: "subscribe", channels: [channel] }, "error");
    assert.equal(refused.code, "UNKNOWN_SYMBOL", channel);
    assert.equal(refused.channel, channel);
    assert.equal(refused.message, "symbol NOPE-USD is not listed; markets: BTC-USD, ETH-USD");
  }
  assert.equal((await c.request({ op: "subscribe", channels: ["book.BTC-USD"] })).type, "subscribed");
  for (const path of ["/ws/trades/nope-usd", "/ws/ticks/NOPE-USD"]) {
    const r = await fetch(`${f.http}${path}`, { headers: { upgrade: "websocket" } });
    assert.equal(r.status, 404, path);
    const body = await r.json();
    assert.equal(body.code, "UNKNOWN_SYMBOL");
    assert.equal(body.type, "https://kalency.dev/problems/unknown-symbol");
  }
  // a market added later is found within a second (the list is read again at most that often)
  await f.redis.hSet(keys.markets(f.prefix), "SOL-USD", "{}");
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await c.request({ op: "subscribe", channels: ["trades.SOL-USD"] })).type, "subscribed");
});

Deno.test("a client that stops reading is dropped and never slows a fast client", async () => {
  // no heartbeats: on a loaded machine the loop below can outlast a heartbeat, and the stuck client
  // would then be closed as a dead peer instead of being dropped as a slow one
  await using f = await startFeed({ maxBufferedBytes: 256 * 1024, heartbeatMs: 3_600_000 });
  const fast = await f.client();
  await fast.request({ op: "subscribe", channels: ["book.BTC-USD"] });
  const slow = await f.raw("/v1/ws");
  await slow.sendText(JSON.stringify({ op: "subscribe", channels: ["book.BTC-USD"] }));
  await fast.take((m) => m.type === "snapshot");
  await waitFor(() => f.metric("gateway_ws_subscriptions", '{channel="book"}') === 2, {
    what: "slow subscribe",
  });

  // ~40 KB deltas: the kernel buffers a few MB for the stuck peer, then Deno's send buffer grows
  const book = new BookWriter(f.redis, f.prefix);
  const wide = (
    n: number,
  ) => [
    Array.from({ length: 1000 }, (_, i) => ({ side: "bids" as const, price: `${n}.${i}`, qty: "1.2345" })),
  ];
  let batches = 0;
  while (f.metric("gateway_ws_slow_clients_dropped_total", '{route="v1"}') === 0 && batches < 120) {
    const tasks = [];
    for (let i = 0; i < 10; i++) tasks.push(...wide(batches * 10 + i));
    await book.apply(tasks);
    batches++;
    await fast.take((m) => m.type === "delta" && m.seq === book.seq, `seq ${book.seq}`, 10_000);
  }
  assert.equal(f.metric("gateway_ws_slow_clients_dropped_total", '{route="v1"}'), 1);
  assert.equal(f.feed.clientCount(), 1);
  // the fast client got every delta, in order, while the slow one was stuck
  assert.equal(replayBook(fast.on("book.BTC-USD")).seq, book.seq);
  assert.ok(f.lines.some((l) => l.includes("client dropped")));
});

Deno.test("heartbeats reach live clients; a client that never answers pings is closed", async () => {
  await using f = await startFeed({ heartbeatMs: 200 });
  const live = await f.client();
  const dead = await f.raw("/v1/ws");
  await live.take((m) => m.type === "heartbeat", "heartbeat 1", 2000);
  const hb = await live.take((m) => m.type === "heartbeat", "heartbeat 2", 2000);
  assert.equal(typeof hb.ts, "number");
  assert.equal(f.feed.clientCount(), 2);
  // it reads nothing and answers no ping: Deno's ping goes unanswered and the server hangs up
  assert.equal(await dead.readUntilClosed(5000), true);
  await waitFor(() => f.feed.clientCount() === 1, { what: "dead client removed" });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(live.ws.readyState, WebSocket.OPEN);
});

Deno.test("close() tells clients to reconnect with code 4012 and stops the routes", async () => {
  const f = await startFeed();
  const c = await f.client();
  await f.feed.close();
  assert.equal((await c.closed).code, 4012);
  const r = await fetch(`${f.http}/v1/ws`);
  assert.equal(r.status, 503);
  await r.body?.cancel();
  await f[Symbol.asyncDispose]();
});

Deno.test("the feed reads a stream only while a channel it feeds has a subscriber", async () => {
  await using f = await startFeed();
  const read = (stream: string) => f.metric("gateway_ws_stream_entries_total", `{stream="${stream}"}`);
  // nobody listens: nothing is read
  await publishBatch(f.redis, f.prefix, STREAMS.orderEvents, [orderEvent("alice", "o-0")]);
  await publishBatch(f.redis, f.prefix, STREAMS.wallet, [walletEvent("alice", "1")]);
  await publishBatch(f.redis, f.prefix, STREAMS.executions, [trade("BTC-USD", 1)]);
  await new Promise((r) => setTimeout(r, 400));
  for (const stream of ["order-events", "wallet", "executions", "book", "candles", "ticks"]) {
    assert.equal(read(stream), 0, stream);
  }

  // the first subscriber starts a stream at its newest entry, before the subscription is
  // acknowledged: what is published right after the acknowledgement arrives, what came before not
  const alice = await f.client("/v1/ws?token=tok-alice");
  await alice.request({ op: "subscribe", channels: ["orders", "trades.BTC-USD"] });
  await publishBatch(f.redis, f.prefix, STREAMS.orderEvents, [orderEvent("alice", "o-1")]);
  await publishBatch(f.redis, f.prefix, STREAMS.executions, [trade("BTC-USD", 2)]);
  await waitFor(
    () => alice.messages.some((m) => m.type === "order") && alice.messages.some((m) => m.type === "trade"),
    {
      what: "the order and the trade",
    },
  );
  assert.deepEqual(alice.messages.filter((m) => m.type === "order").map((m) => m.data.order.orderId), [
    "o-1",
  ]);
  assert.deepEqual(alice.messages.filter((m) => m.type === "trade").map((m) => m.data.seq), [2]);
  assert.equal(read("wallet"), 0, "the wallet stream waits for a wallet subscriber");
});

Deno.test("a stream let go and read again restarts the book gap check: no false gap", async () => {
  await using f = await startFeed({ idleStreamMs: 100 });
  const read = () => f.metric("gateway_ws_stream_entries_total", '{stream="book"}');
  const book = new BookWriter(f.redis, f.prefix);
  const c = await f.client();
  await c.request({ op: "subscribe", channels: ["book.BTC-USD"] });
  await book.apply([[{ side: "bids", price: "100", qty: "1" }], [{ side: "bids", price: "101", qty: "1" }]]);
  await waitFor(() => read() === 2, { what: "two deltas read" });
  await c.request({ op: "unsubscribe", channels: ["book.BTC-USD"] });
  await new Promise((r) => setTimeout(r, 700)); // idle for longer than 100 ms: let go
  // deltas nobody listens to are not read
  await book.apply([[{ side: "asks", price: "105", qty: "1" }], [{ side: "asks", price: "106", qty: "1" }]]);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(read(), 2);
  // read again from the newest delta (seq 4): the next one, seq 5, is no gap
  await c.request({ op: "subscribe", channels: ["book.BTC-USD"] });
  assert.equal((await c.take((m) => m.type === "snapshot")).seq, 4);
  await book.apply([[{ side: "asks", price: "107", qty: "1" }]]);
  assert.equal((await c.take((m) => m.type === "delta")).seq, 5);
  assert.equal(f.metric("gateway_ws_book_seq_gaps_total"), 0);
});

Deno.test("one address holds at most maxPerAddress WebSocket connections; a closed one frees a place", async () => {
  await using f = await startFeed({ maxPerAddress: 2 });
  const a = await f.client();
  await f.client("/ws/trades/BTC-USD");
  const refused = await fetch(`${f.http}/v1/ws`, { headers: { upgrade: "websocket" } });
  assert.equal(refused.status, 429);
  assert.equal((await refused.json()).code, "TOO_MANY_CONNECTIONS");
  await a.close();
  await waitFor(async () => {
    const r = await fetch(`${f.http}/v1/ws`, { headers: { upgrade: "websocket" } });
    await r.body?.cancel();
    return r.status !== 429; // the next upgrade passes the cap (a plain fetch then fails the upgrade)
  }, { what: "a place freed by the closed connection" });
});

Deno.test("/v1/ws ends private channels within a recheck round once their login expired or was revoked", async () => {
  await using f = await startFeed({ privateRecheckMs: 100 });
  TOKENS["tok-dave"] = { userId: "dave", role: "user" };
  try {
    const dave = await f.client();
    assert.equal((await dave.request({ op: "auth", token: "tok-dave" })).userId, "dave");
    assert.equal(
      (await dave.request({ op: "subscribe", channels: ["wallet", "trades.BTC-USD"] })).type,
      "subscribed",
    );
    // still valid: rounds pass and nothing ends
    await new Promise((r) => setTimeout(r, 350));
    assert.equal(dave.messages.filter((m) => m.type === "unsubscribed").length, 0);
    // the store is down: no answer, so no logout
    FAILING.add("tok-dave");
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(dave.messages.filter((m) => m.type === "unsubscribed").length, 0);
    FAILING.delete("tok-dave");
    // expired (or revoked): the next round ends the private channel, unasked; the public one stays
    delete TOKENS["tok-dave"];
    assert.equal((await dave.take((m) => m.type === "error")).code, "AUTH_FAILED");
    const ended = await dave.take((m) => m.type === "unsubscribed");
    assert.equal(ended.channel, "wallet.dave");
    assert.match(ended.reason, /expired or was revoked/);
    assert.equal(dave.messages.filter((m) => m.type === "unsubscribed").length, 1, "trades.BTC-USD stays");
  } finally {
    delete TOKENS["tok-dave"];
  }
});
