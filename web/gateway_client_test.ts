import assert from "node:assert/strict";
import {
  type ChannelMessage,
  GatewayClient,
  GatewayError,
  MarketSocket,
  problemText,
  type SubscribedEvent,
} from "./gateway_client.ts";

/** A stand-in for the browser's WebSocket that lets a test open, feed and drop connections. */
class TestSocket {
  static all: TestSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen?: () => void;
  onmessage?: (e: { data: string }) => void;
  onclose?: () => void;
  onerror?: () => void;
  constructor(readonly url: string) {
    TestSocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

/** A connection to a frozen gateway: closing it starts a handshake that never completes. */
class FrozenSocket extends TestSocket {
  override close() {
    this.readyState = 2;
  }
}

function socket(token?: string, Socket: typeof TestSocket = TestSocket) {
  TestSocket.all = [];
  return new MarketSocket("ws://gw/v1/ws", {
    WebSocket: Socket as unknown as typeof WebSocket,
    token: () => token,
    minDelayMs: 5,
    maxDelayMs: 40,
  });
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const last = () => TestSocket.all[TestSocket.all.length - 1];

Deno.test("MarketSocket resubscribes every channel after a dropped connection, with growing delays", async () => {
  const s = socket();
  const got: (ChannelMessage | SubscribedEvent)[] = [];
  s.subscribe("book.BTC-USD", (m) => got.push(m));
  s.subscribe("trades.BTC-USD", (m) => got.push(m));
  try {
    last().open();
    assert.deepEqual(last().sent, [{ op: "subscribe", channels: ["book.BTC-USD", "trades.BTC-USD"] }]);
    const starts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = TestSocket.all.length;
      const t0 = performance.now();
      last().close();
      assert.equal(s.status, "reconnecting");
      while (TestSocket.all.length === before) await wait(1);
      starts.push(performance.now() - t0);
    }
    // 5, 10, 20, 40 ms with jitter in the upper half: each at least half its nominal delay
    [5, 10, 20, 40].forEach((d, i) => assert.ok(starts[i] >= d / 2 - 1, `attempt ${i}: ${starts[i]} ms`));
    last().open();
    assert.equal(s.status, "open");
    assert.deepEqual(last().sent, [{ op: "subscribe", channels: ["book.BTC-USD", "trades.BTC-USD"] }]);
    last().receive({ type: "subscribed", channel: "book.BTC-USD" });
    last().receive([
      { channel: "book.BTC-USD", type: "snapshot", seq: 4, data: { n: 1 } },
      { channel: "book.BTC-USD", type: "delta", seq: 5, data: { n: 2 } },
    ]);
    assert.deepEqual(got.map((m) => [m.type, m.seq]), [["subscribed", undefined], ["snapshot", 4], [
      "delta",
      5,
    ]]);
  } finally {
    s.close();
  }
});

Deno.test("MarketSocket subscribes private channels only after the gateway accepted the token", () => {
  const s = socket("tok-1");
  s.subscribe("orders.u1", () => {});
  s.subscribe("ticker.BTC-USD", () => {});
  try {
    last().open();
    assert.deepEqual(last().sent, [
      { op: "subscribe", channels: ["ticker.BTC-USD"] },
      { op: "auth", token: "tok-1" },
    ]);
    last().receive({ type: "authenticated", userId: "u1", role: "user" });
    assert.deepEqual(last().sent.at(-1), { op: "subscribe", channels: ["orders.u1"] });
  } finally {
    s.close();
  }
});

Deno.test("MarketSocket.resubscribe() asks for a fresh snapshot, and the last listener unsubscribes", () => {
  const s = socket();
  const stop = s.subscribe("book.ETH-USD", () => {});
  try {
    last().open();
    s.resubscribe("book.ETH-USD");
    assert.deepEqual(last().sent.slice(1), [{ op: "subscribe", channels: ["book.ETH-USD"] }]);
    stop();
    assert.deepEqual(last().sent.at(-1), { op: "unsubscribe", channels: ["book.ETH-USD"] });
  } finally {
    s.close();
  }
});

Deno.test("MarketSocket drops a connection that stays silent past its heartbeats", async () => {
  const s = socket();
  s.subscribe("ticker.BTC-USD", () => {});
  try {
    last().open();
    last().receive({ type: "welcome", heartbeatMs: 8 });
    const first = last();
    await wait(60);
    assert.equal(first.readyState, 3, "the silent connection was closed");
    assert.ok(TestSocket.all.length >= 2, "and a new one opened");
  } finally {
    s.close();
  }
});

Deno.test("GatewayClient refreshes a token about to expire before the request, not after a 401", async () => {
  let token = "old";
  let expiresAt = Date.now() + 5_000;
  let refreshes = 0;
  const seen: string[] = [];
  const client = new GatewayClient({
    baseUrl: "http://gw",
    auth: {
      token: () => token,
      expiresAt: () => expiresAt,
      refresh: () => {
        refreshes++;
        token = "new";
        expiresAt = Date.now() + 900_000;
        return Promise.resolve(true);
      },
    },
    // a stand-in gateway that refuses the old token
    fetch: (_url, init) => {
      const auth = new Headers(init?.headers).get("authorization") ?? "";
      seen.push(auth);
      return Promise.resolve(
        auth === "Bearer new"
          ? Response.json({ userId: "u1", username: "ann", role: "user" })
          : Response.json({ code: "TOKEN_EXPIRED", detail: "expired" }, { status: 401 }),
      );
    },
  });
  assert.equal((await client.me()).userId, "u1");
  assert.deepEqual(seen, ["Bearer new"], "one request, with the refreshed token");
  assert.equal(refreshes, 1);
  await client.me();
  assert.equal(refreshes, 1, "a token far from its expiry is used as it is");
  assert.deepEqual(seen, ["Bearer new", "Bearer new"]);
});

Deno.test("GatewayClient: a 401 whose refresh fails too gives the gateway's refusal", async () => {
  let refreshes = 0;
  const client = new GatewayClient({
    baseUrl: "http://gw",
    auth: {
      token: () => "stale",
      refresh: () => {
        refreshes++;
        return Promise.resolve(false); // the refresh token was rotated elsewhere
      },
    },
    fetch: () =>
      Promise.resolve(
        Response.json({ code: "TOKEN_EXPIRED", detail: "the access token has expired" }, { status: 401 }),
      ),
  });
  const e = await client.me().catch((e) => e);
  assert.ok(e instanceof GatewayError, String(e));
  assert.equal(e.status, 401);
  assert.equal(e.code, "TOKEN_EXPIRED");
  assert.equal(e.message, "the access token has expired");
  assert.equal(refreshes, 1);
});

Deno.test("problemText() gives a sentence for wrong credentials and field names in words", () => {
  const wrong = new GatewayError(401, {
    code: "INVALID_CREDENTIALS",
    detail: "username (or userId) or password is wrong",
  });
  assert.equal(problemText(wrong.message, wrong.code), "Wrong username or password.");
  assert.equal(
    problemText("postOnly requires timeInForce GTC", "INVALID_ORDER"),
    "Post only requires time in force GTC",
  );
  assert.equal(
    problemText("quoteQty is only allowed on MARKET BUY orders"),
    "Amount to spend is only allowed on MARKET BUY orders",
  );
  assert.equal(
    problemText("price 64000.001 is not a multiple of the tick size 0.01 of BTC-USD"),
    "Price 64000.001 is not a multiple of the tick size 0.01 of BTC-USD",
  );
  assert.equal(
    problemText("price x qty must be at least minNotional 5 USD on BTC-USD"),
    "Price x amount must be at least the minimum order value 5 USD on BTC-USD",
  );
  // words that only contain a field name stay as they are
  assert.equal(problemText("qtyMax and postOnlyX"), "QtyMax and postOnlyX");
});

Deno.test("GatewayClient.logout() posts the refresh token to the logout route", async () => {
  const calls: { url: string; method?: string; body?: string }[] = [];
  const client = new GatewayClient({
    baseUrl: "http://gw/",
    fetch: (url, init) => {
      calls.push({ url: String(url), method: init?.method, body: String(init?.body) });
      return Promise.resolve(new Response(null, { status: 204 }));
    },
  });
  await client.logout("rt_abc");
  assert.deepEqual(calls, [{
    url: "http://gw/v1/auth/logout",
    method: "POST",
    body: JSON.stringify({ refreshToken: "rt_abc" }),
  }]);
});

Deno.test("MarketSocket gives up on a frozen gateway's connection at once: reconnecting, then a new one", async () => {
  const s = socket(undefined, FrozenSocket);
  const got: unknown[] = [];
  const statuses: string[] = [];
  s.subscribe("ticker.BTC-USD", (m) => got.push(m.data));
  s.onStatus((st) => statuses.push(st));
  try {
    last().open();
    last().receive({ type: "welcome", heartbeatMs: 8 });
    const frozen = last();
    // three heartbeats (24 ms) without a message; the close event never comes
    for (let i = 0; i < 100 && s.status === "open"; i++) await wait(2);
    assert.equal(s.status, "reconnecting", "not left showing live");
    assert.equal(frozen.readyState, 2, "its close was started");
    for (let i = 0; i < 100 && TestSocket.all.length === 1; i++) await wait(2);
    assert.equal(TestSocket.all.length, 2, "a new connection");
    // the frozen gateway wakes up and delivers late: the abandoned connection is not listened to
    frozen.receive({ channel: "ticker.BTC-USD", type: "ticker", data: "late" });
    assert.deepEqual(got, []);
    last().open();
    assert.deepEqual(statuses, ["connecting", "open", "reconnecting", "open"]);
  } finally {
    s.close();
  }
});

Deno.test("MarketSocket tells a listener that joins a confirmed channel that it is subscribed", async () => {
  const s = socket();
  const header: string[] = [], tape: string[] = [];
  s.subscribe("trades.BTC-USD", (m) => header.push(m.type));
  try {
    last().open();
    last().receive({ type: "subscribed", channel: "trades.BTC-USD" });
    // a second island hydrates after the gateway confirmed the channel to the first
    s.subscribe("trades.BTC-USD", (m) => tape.push(m.type));
    await wait(0);
    assert.deepEqual(tape, ["subscribed"], "the late listener refetches what it may have missed");
    assert.deepEqual(header, ["subscribed"]);
    // one subscription on the wire, not two
    assert.deepEqual(last().sent, [{ op: "subscribe", channels: ["trades.BTC-USD"] }]);
    // before the confirmation, a second listener waits for the gateway's, like the first
    s.subscribe("ticker.BTC-USD", (m) => header.push(m.type));
    const early: string[] = [];
    s.subscribe("ticker.BTC-USD", (m) => early.push(m.type));
    await wait(0);
    assert.deepEqual(early, []);
    last().receive({ type: "subscribed", channel: "ticker.BTC-USD" });
    assert.deepEqual(early, ["subscribed"]);
  } finally {
    s.close();
  }
});
