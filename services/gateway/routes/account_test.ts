import assert from "node:assert/strict";
import { waitFor } from "@lib/testing";
import { engineAvailable, gatewayFixture, spawnService } from "../testing.ts";

const LEDGER_MAIN = new URL("../../ledger-writer/main.ts", import.meta.url);
const ledgerAvailable = (() => {
  try {
    Deno.statSync(LEDGER_MAIN);
    return true;
  } catch {
    return false;
  }
})();

/** A ledger writer on the fixture's prefix and database. */
function spawnLedger(gw: { prefix: string; databaseUrl: string }) {
  return spawnService(LEDGER_MAIN, { KALENCY_PREFIX: gw.prefix, DATABASE_URL: gw.databaseUrl }, {
    portVar: "KALENCY_LEDGER_PORT",
    anyHealth: true,
  });
}

Deno.test({
  name: "wallet postings come from the ledger; the admin status shows the consumer groups",
  ignore: !engineAvailable() || !ledgerAvailable,
  async fn() {
    await using gw = await gatewayFixture({ engine: true });
    await using _ledger = await spawnLedger(gw);
    const s = await gw.signup();
    const page = await waitFor(async () => {
      const r = await gw.call("GET", "/v1/wallet/postings?limit=2", { headers: s.headers });
      assert.equal(r.status, 200, r.text);
      return r.json.postings.length === 2 ? r.json : undefined;
    }, { timeoutMs: 15_000, what: "the signup's funding postings" });
    assert.ok(page.postings.every((p: { account: string }) => p.account === s.userId));
    assert.ok(page.nextCursor, "three assets were funded: a second page");
    const next = await gw.call("GET", `/v1/wallet/postings?limit=2&cursor=${page.nextCursor}`, {
      headers: s.headers,
    });
    assert.equal(next.json.postings.length, 1);
    const usd = await gw.call("GET", "/v1/wallet/postings?asset=usd", { headers: s.headers });
    assert.deepEqual(usd.json.postings.map((p: { asset: string; amount: string }) => [p.asset, p.amount]), [[
      "USD",
      "100000",
    ]]);
    const typo = await gw.call("GET", "/v1/wallet/postings?asset=XYZ", { headers: s.headers });
    assert.equal(typo.status, 404, "an asset nobody trades or holds is a typo, not an empty history");
    assert.equal(typo.json.code, "UNKNOWN_ASSET");
    assert.equal(typo.json.field, "asset");
    assert.match(typo.json.detail, /assets: .*BTC.*USD/);
    const bad = await gw.call("GET", "/v1/wallet/postings?cursor=nonsense", { headers: s.headers });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, "cursor");

    const placed = await gw.call("POST", "/v1/orders", {
      headers: s.headers,
      body: { symbol: "BTC-USD", side: "BUY", type: "LIMIT", price: "60000", qty: "0.001" },
    });
    assert.equal(placed.status, 201);
    const canceled = await gw.call("DELETE", `/v1/orders/${placed.json.orderId}`, { headers: s.headers });
    assert.equal(canceled.json.status, "CANCELED");
    await waitFor(async () => {
      const [row] = await gw
        .sql`SELECT count(*)::int AS n FROM order_events WHERE order_id = ${placed.json.orderId}`;
      return row.n >= 2;
    }, { timeoutMs: 15_000, what: "the order's events in the ledger" });
    await gw.redis.del(`${gw.prefix}:order:${placed.json.orderId}`);
    const fromLedger = await gw.call("GET", `/v1/orders/${placed.json.orderId}`, { headers: s.headers });
    assert.equal(fromLedger.status, 200, fromLedger.text);
    assert.equal(fromLedger.json.status, "CANCELED", "the order's last state, from PostgreSQL");
    const other = await gw.signup();
    const notTheirs = await gw.call("GET", `/v1/orders/${placed.json.orderId}`, { headers: other.headers });
    assert.equal(notTheirs.status, 404);

    const admin = await gw.admin();
    const st = await gw.call("GET", "/v1/admin/status", { headers: admin.headers });
    assert.equal(st.status, 200, st.text);
    assert.equal(st.json.engine.commandsBehind, 0);
    const wallet = st.json.streams.find((x: { stream: string }) => x.stream === "wallet");
    assert.ok(wallet.length >= 3);
    assert.ok(wallet.groups.length >= 1, "the ledger writer's group is listed");
    const orders = st.json.streams.find((x: { stream: string }) => x.stream === "orders");
    const commands = await gw.redis.xLen(`${gw.prefix}:stream:orders`);
    assert.equal(orders.entriesAdded, commands, "entries ever added to the command stream");
    assert.equal(st.json.gateway.pendingReplies, 0);
  },
});

Deno.test({
  name: "my trades page back through the ledger with before=<tradeId>",
  ignore: !engineAvailable() || !ledgerAvailable,
  async fn() {
    await using gw = await gatewayFixture({ engine: true });
    const [maker, taker, stranger] = [await gw.signup(), await gw.signup(), await gw.signup()];
    for (const price of ["60000", "60001", "60002"]) {
      const sell = await gw.call("POST", "/v1/orders", {
        headers: maker.headers,
        body: { symbol: "BTC-USD", side: "SELL", type: "LIMIT", price, qty: "0.001" },
      });
      assert.equal(sell.status, 201, sell.text);
      const buy = await gw.call("POST", "/v1/orders", {
        headers: taker.headers,
        body: { symbol: "BTC-USD", side: "BUY", type: "LIMIT", price, qty: "0.001", timeInForce: "IOC" },
      });
      assert.equal(buy.json.status, "FILLED", buy.text);
    }
    const newest = await gw.call("GET", "/v1/trades/mine", { headers: taker.headers });
    assert.deepEqual(newest.json.map((e: { price: string }) => e.price), ["60000", "60001", "60002"]);
    const [first, second, third] = newest.json;

    // a page back from a fill made a moment ago: from Redis, before the ledger (not running yet) has it
    const older = await gw.call("GET", `/v1/trades/mine?limit=5&before=${third.tradeId}`, {
      headers: taker.headers,
    });
    assert.equal(older.status, 200, older.text);
    assert.deepEqual(older.json, [first, second], "oldest first, every field as the engine published it");

    await using _ledger = await spawnLedger(gw);
    const one = await gw.call("GET", `/v1/me/trades?limit=1&before=${third.tradeId}&symbol=BTC-USD`, {
      headers: maker.headers,
    });
    assert.deepEqual(one.json, [second]);
    const none = await gw.call("GET", `/v1/trades/mine?before=${first.tradeId}&symbol=ETH-USD`, {
      headers: taker.headers,
    });
    assert.deepEqual(none.json, []);

    // Redis keeps only the newest fills of every symbol: with a symbol filter, the older fills of that
    // symbol come from the ledger (here Redis is cut down to the newest fill)
    await gw.redis.lTrim(`${gw.prefix}:fills:${taker.userId}`, 0, 0);
    const fromLedger = await waitFor(async () => {
      const r = await gw.call("GET", `/v1/trades/mine?limit=5&before=${third.tradeId}`, {
        headers: taker.headers,
      });
      return r.json.length === 2 ? r.json : undefined;
    }, { timeoutMs: 15_000, what: "the fills in the ledger" });
    assert.deepEqual(
      fromLedger,
      [first, second],
      "older than Redis holds: the ledger's copy, field for field",
    );
    const cut = await gw.call("GET", "/v1/trades/mine?symbol=BTC-USD&limit=5", { headers: taker.headers });
    assert.deepEqual(cut.json, [first, second, third]);
    const all = await gw.call("GET", "/v1/trades/mine?limit=5", { headers: taker.headers });
    assert.deepEqual(all.json, [first, second, third], "without a symbol too: a full page, from both");
    // order history gives each order all its fills, those Redis no longer holds from the ledger
    const history = await gw.call("GET", "/v1/orders/history?limit=10", { headers: taker.headers });
    assert.equal(history.status, 200, history.text);
    assert.deepEqual(
      history.json.orders.map((o: { filledQty: string; fills: { tradeId: string }[] }) => [
        o.filledQty,
        o.fills.map((f) => f.tradeId),
      ]),
      [["0.001", [third.tradeId]], ["0.001", [second.tradeId]], ["0.001", [first.tradeId]]],
    );

    for (const [who, before] of [[stranger, third.tradeId], [taker, "trd-none-1"]] as const) {
      const r = await gw.call("GET", `/v1/trades/mine?before=${before}`, { headers: who.headers });
      assert.equal(r.status, 404, r.text);
      assert.equal(r.json.code, "UNKNOWN_TRADE");
      assert.equal(r.json.field, "before");
    }
  },
});
