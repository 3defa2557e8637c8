import assert from "node:assert/strict";
import { type EngineCommandInput, keys, streamKey, STREAMS } from "@lib/contracts";
import { publishBatch } from "@lib/redis";
import { redisFixture, waitFor } from "@lib/testing";
import { jsonLines, spawnEngine, tools } from "../test_util.ts";
import { type Difference, diffJson, inFormatOf, nameSnapshotPath } from "./replay.ts";

Deno.test("diffJson() lists the paths where two JSON values differ, up to a limit", () => {
  const out: Difference[] = [];
  diffJson(
    { a: 1, b: [1, 2, 3], c: { d: "x" }, e: true },
    { a: 1, b: [1, 5], c: { d: "y", f: 1 }, e: true },
    "wallet u1",
    out,
    10,
  );
  assert.deepEqual(out, [
    { where: "wallet u1 .b.length", live: 3, replay: 2 },
    { where: "wallet u1 .b[1]", live: 2, replay: 5 },
    { where: "wallet u1 .c.d", live: "x", replay: "y" },
    { where: "wallet u1 .c.f", live: undefined, replay: 1 },
  ]);
  const few: Difference[] = [];
  assert.equal(diffJson([1, 2, 3], [4, 5, 6], "x", few, 2), false);
  assert.equal(few.length, 2);
});

Deno.test("nameSnapshotPath() names the balance and the order a snapshot path points at", () => {
  const state = {
    users: ["kalency-fees", "alice", "bob"],
    assets: [["USD", 6], ["BTC", 8]],
    book: { id: [7, 9, 12] },
    closed: { id: [3] },
  };
  assert.equal(
    nameSnapshotPath("snapshot .state.free[3]", state),
    "snapshot free balance of alice in BTC (minor units)",
  );
  assert.equal(
    nameSnapshotPath("snapshot .state.locked[4]", state),
    "snapshot locked balance of bob in USD (minor units)",
  );
  assert.equal(nameSnapshotPath("snapshot .state.book.price[2]", state), "snapshot resting order #12 .price");
  assert.equal(nameSnapshotPath("snapshot .state.closed.feeWq[0]", state), "snapshot closed order #3 .feeWq");
  assert.equal(nameSnapshotPath("snapshot .state.lastTradeId", state), "snapshot .state.lastTradeId");
});

function traffic(): EngineCommandInput[] {
  const place = (
    i: number,
    userId: string,
    side: "BUY" | "SELL",
    price: string,
    qty: string,
  ): EngineCommandInput => ({
    type: "place",
    cmdId: `p-${i}`,
    userId,
    symbol: "BTC-USD",
    side,
    orderType: "LIMIT",
    price,
    qty,
  });
  return [
    { type: "openAccount", cmdId: "o-1", userId: "alice" },
    { type: "openAccount", cmdId: "o-2", userId: "bob" },
    { type: "deposit", cmdId: "d-1", userId: "alice", asset: "USD", amount: "1000" },
    place(1, "alice", "BUY", "65000.00", "0.1"),
    place(2, "alice", "BUY", "64990.00", "0.2"),
    place(3, "bob", "SELL", "65010.00", "0.3"),
    place(4, "bob", "SELL", "64995.00", "0.15"),
    place(5, "alice", "BUY", "65010.00", "0.05"),
    { type: "cancelAll", cmdId: "c-1", userId: "alice", symbol: "BTC-USD" },
    place(6, "bob", "BUY", "64000.00", "0.01"),
    place(7, "alice", "SELL", "1.00", "0.001"),
    { type: "deposit", cmdId: "d-2", userId: "bob", asset: "DOGE", amount: "1" },
  ];
}

Deno.test("replay rebuilds the engine's state from stream:orders and finds it equal, then finds a tampered wallet", async () => {
  await using fx = await redisFixture("replay");
  // a snapshot after the first 6 commands only, so the live snapshot sits before the checkpoint
  const engine = await spawnEngine(fx.prefix, {
    KALENCY_SNAPSHOT_EVERY: "6",
    KALENCY_SNAPSHOT_INTERVAL_MS: "600000",
  });
  let stopped = false;
  let snapshotCursor = "";
  try {
    const commands = traffic();
    await publishBatch(fx.redis, fx.prefix, STREAMS.orders, commands.slice(0, 6));
    snapshotCursor = await waitFor(async () => {
      const m = await fx.redis.get(keys.snapshot(fx.prefix));
      return m ? JSON.parse(m).cursor as string : undefined;
    }, { what: "a snapshot" });
    // a poison entry the engine dead-letters, then more commands
    await fx.redis.xAdd(streamKey(fx.prefix, STREAMS.orders), "*", { type: "place", payload: "{not json" });
    const ids = await publishBatch(fx.redis, fx.prefix, STREAMS.orders, commands.slice(6, 10));
    const last = ids[ids.length - 1];
    await waitFor(async () => (await fx.redis.get(keys.checkpoint(fx.prefix))) === last, {
      what: "the engine to apply",
    });
    // a later batch that touches no book: each book keeps the time of its own last change, so the
    // replay (which writes its read models once, at the end) still finds the books equal
    await new Promise((r) => setTimeout(r, 5));
    const [quiet] = await publishBatch(fx.redis, fx.prefix, STREAMS.orders, [
      { type: "deposit", cmdId: "d-3", userId: "bob", asset: "USD", amount: "5" },
    ]);
    await waitFor(async () => (await fx.redis.get(keys.checkpoint(fx.prefix))) === quiet, {
      what: "the engine to apply the deposit",
    });
    // no final snapshot on SIGKILL
    await engine.stop("SIGKILL");
    stopped = true;
  } finally {
    if (!stopped) await engine.stop();
  }
  assert.notEqual(snapshotCursor, await fx.redis.get(keys.checkpoint(fx.prefix)));

  const r = await tools(["replay"], { prefix: fx.prefix });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^replayed 11 commands from the start of stream:orders up to checkpoint \d+-\d+ in .* \(1 dead-lettered entries skipped, as the engine did\)\n/,
  );
  assert.match(r.stdout, new RegExp(`\nsnapshot at ${snapshotCursor}: equal\n`));
  assert.match(r.stdout, /read models compared: \d+ wallets, 3 markets, \d+ books, \d+ orders \(\d+ open\)/);
  assert.match(r.stdout, /EQUAL: the replayed state matches the live one/);

  const fromSnapshot = await tools(["replay", "--from-snapshot", "--json"], { prefix: fx.prefix });
  assert.equal(fromSnapshot.code, 0, fromSnapshot.stdout + fromSnapshot.stderr);
  const report = jsonLines(fromSnapshot.stdout)[0];
  assert.equal(report.equal, true);
  assert.equal(report.from, "snapshot");

  // change bob's wallet and drop one of his open orders behind the engine's back
  const walletText = (await fx.redis.hGet(keys.wallets(fx.prefix), "bob"))!;
  const wallet = JSON.parse(walletText);
  wallet.balances[0].free = "1";
  await fx.redis.hSet(keys.wallets(fx.prefix), "bob", JSON.stringify(wallet));
  const open = await fx.redis.zRange(keys.openOrders(fx.prefix, "bob"), 0, -1);
  await fx.redis.zRem(keys.openOrders(fx.prefix, "bob"), open[0]);

  const bad = await tools(["replay", "--json"], { prefix: fx.prefix });
  assert.equal(bad.code, 1);
  const diff = jsonLines(bad.stdout)[0];
  assert.equal(diff.equal, false);
  const wheres = (diff.differences as Difference[]).map((d) => d.where);
  assert.ok(wheres.includes("wallet bob .balances[0].free"), wheres.join(", "));
  assert.ok(wheres.includes("open orders of bob"), wheres.join(", "));
  const text = await tools(["replay"], { prefix: fx.prefix });
  assert.match(
    text.stdout,
    /DIFFERENT: 2 difference\(s\)\n {2}wallet bob \.balances\[0\]\.free: live 1, replay \d+/,
  );
});

Deno.test("replay refuses to start from the beginning when commands were trimmed", async () => {
  await using fx = await redisFixture("replay");
  const ids = await publishBatch(fx.redis, fx.prefix, STREAMS.orders, traffic().slice(0, 3));
  await fx.redis.set(keys.checkpoint(fx.prefix), ids[2]);
  await fx.redis.xTrim(streamKey(fx.prefix, STREAMS.orders), "MINID", ids[1]);
  const r = await tools(["replay"], { prefix: fx.prefix });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /1 commands were trimmed or deleted from .*\(use --from-snapshot/);
  const nothing = await tools(["replay", "--from-snapshot"], { prefix: fx.prefix });
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /no engine snapshot under this prefix yet/);
});

Deno.test("replay against a busy engine compares with the read models of the checkpoint it reads them at", async () => {
  await using fx = await redisFixture("replay");
  const engine = await spawnEngine(fx.prefix, { KALENCY_SNAPSHOT_EVERY: "100" });
  const stop = new AbortController();
  try {
    await publishBatch(fx.redis, fx.prefix, STREAMS.orders, traffic().slice(0, 2));
    // steady trading between alice and bob while the replays run
    const writer = (async () => {
      for (let i = 0; !stop.signal.aborted; i++) {
        const side = i % 2 ? "SELL" : "BUY";
        await publishBatch(fx.redis, fx.prefix, STREAMS.orders, [{
          type: "place",
          cmdId: `busy-${i}`,
          userId: i % 2 ? "bob" : "alice",
          symbol: "BTC-USD",
          side,
          orderType: "LIMIT",
          price: side === "BUY" ? "65000" : "64990",
          qty: "0.001",
          timeInForce: i % 3 ? "GTC" : "IOC",
        }]);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await waitFor(async () => (await fx.redis.get(keys.snapshot(fx.prefix))) !== null, {
      what: "some traffic and a snapshot",
      timeoutMs: 20_000,
    });
    for (
      const args of [["replay", "--json"], ["replay", "--from-snapshot", "--json"], ["replay", "--json"]]
    ) {
      const r = await tools(args, { prefix: fx.prefix });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(jsonLines(r.stdout)[0].equal, true);
    }
    stop.abort();
    await writer;
  } finally {
    stop.abort();
    await engine.stop();
  }
});

Deno.test("replay follows the engine's settings across a restart with other fees", async () => {
  await using fx = await redisFixture("replay");
  const trading = (n: number): EngineCommandInput[] => [
    {
      type: "place",
      cmdId: `s-${n}`,
      userId: "bob",
      symbol: "BTC-USD",
      side: "SELL",
      orderType: "LIMIT",
      price: "65000",
      qty: "0.01",
    },
    {
      type: "place",
      cmdId: `b-${n}`,
      userId: "alice",
      symbol: "BTC-USD",
      side: "BUY",
      orderType: "MARKET",
      qty: "0.01",
    },
  ];
  const applied = async (commands: EngineCommandInput[]) => {
    const ids = await publishBatch(fx.redis, fx.prefix, STREAMS.orders, commands);
    await waitFor(async () => (await fx.redis.get(keys.checkpoint(fx.prefix))) === ids[ids.length - 1], {
      what: "the engine to apply",
    });
  };
  // with fees, then killed (no final snapshot: the next start replays these commands)
  const withFees = await spawnEngine(fx.prefix, { KALENCY_TAKER_FEE_BPS: "10", KALENCY_MAKER_FEE_BPS: "5" });
  await applied([...traffic().slice(0, 2), ...trading(1), ...trading(2)]);
  await withFees.stop("SIGKILL");
  // without fees: the restart replays the first commands with the fees they had, then goes on
  const noFees = await spawnEngine(fx.prefix);
  try {
    await applied([...trading(3), ...trading(4)]);
  } finally {
    await noFees.stop();
  }
  const history = (await fx.redis.lRange(`${fx.prefix}:engine:settings`, 0, -1)).map((t) => JSON.parse(t));
  assert.deepEqual(history.map((h) => h.settings.takerFeeBps), [10, 0]);
  const wallet = JSON.parse((await fx.redis.hGet(keys.wallets(fx.prefix), "kalency-fees"))!);
  assert.ok(
    wallet.balances.some((b: { free: string }) => b.free !== "0"),
    "the fees of the first run stayed",
  );
  // this environment has no fees; the replay uses the recorded ones for the first commands
  const r = await tools(["replay", "--json"], { prefix: fx.prefix });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(jsonLines(r.stdout)[0].equal, true);
});

Deno.test("inFormatOf(): a live snapshot from before the fee history is compared without it", () => {
  const replayed = {
    version: 1,
    lastCommandId: "1-0",
    state: { version: 2, lastOrderId: 5, feeHistory: [{ fromOrderId: 0, makerBps: 0, takerBps: 0 }] },
  };
  const old = { version: 1, lastCommandId: "1-0", state: { version: 1, lastOrderId: 5 } };
  assert.deepEqual(inFormatOf(old, replayed), old);
  // a history of two rate sets is something a version 1 state could not say: kept, and reported
  const two = {
    ...replayed,
    state: {
      ...replayed.state,
      feeHistory: [...replayed.state.feeHistory, { fromOrderId: 3, makerBps: 1, takerBps: 2 }],
    },
  };
  assert.equal(inFormatOf(old, two), two);
  assert.equal(inFormatOf(replayed, replayed), replayed, "both of version 2: as they are");
});
