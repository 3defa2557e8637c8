import assert from "node:assert/strict";
import { streamKey, STREAMS } from "@lib/contracts";
import { consumeGroup, type RawEntry } from "@lib/redis";
import { redisFixture } from "@lib/testing";
import { execution, jsonLines, tools } from "../test_util.ts";

/**
 * Writes one poison execution and lets real consumer groups dead-letter it (each group writes its
 * own dead letter, as the ledger writer and the candle aggregator both do).
 */
async function withDeadLetter(
  fx: Awaited<ReturnType<typeof redisFixture>>,
  groups = ["ledger-writer"],
): Promise<string> {
  const key = streamKey(fx.prefix, STREAMS.executions);
  const poisonId = await fx.redis.xAdd(key, "*", { type: "execution", payload: '{"tradeId":"broken"}' });
  for (const group of groups) {
    const controller = new AbortController();
    const reader = fx.redis.duplicate();
    await reader.connect();
    try {
      await consumeGroup(reader, fx.prefix, STREAMS.executions, {
        group,
        consumer: group === "ledger-writer" ? "lw-1" : `${group}-1`,
        signal: controller.signal,
        blockMs: 50,
        handle: () => Promise.resolve(),
        onDead: () => controller.abort(),
      });
    } finally {
      await reader.close();
    }
  }
  return poisonId;
}

Deno.test("dead lists dead letters with reason, original id and payload excerpt", async () => {
  await using fx = await redisFixture("dead");
  const poisonId = await withDeadLetter(fx);
  const all = await tools(["dead"], { prefix: fx.prefix });
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^executions:dead: 1 entry\n/);
  assert.match(all.stdout, new RegExp(`execution original=${poisonId} source=ledger-writer/lw-1\\n`));
  assert.match(all.stdout, /reason: payload does not match the executions contract: symbol: /);
  assert.match(all.stdout, /payload: \{"tradeId":"broken"\}/);

  const one = await tools(["dead", "executions", "--json"], { prefix: fx.prefix });
  const [d] = jsonLines(one.stdout);
  assert.equal(d.stream, "executions:dead");
  assert.equal(d.originalId, poisonId);
  assert.deepEqual(d.original, { type: "execution", payload: '{"tradeId":"broken"}' });

  const none = await tools(["dead", "orders"], { prefix: fx.prefix });
  assert.match(none.stdout, /^orders:dead: 0 entries\n$/);
});

Deno.test("dead requeue --id puts the original fields back on the source stream and removes the dead letter", async () => {
  await using fx = await redisFixture("dead");
  const poisonId = await withDeadLetter(fx);
  const key = streamKey(fx.prefix, STREAMS.executions);
  const r = await tools(["dead", "requeue", "executions", "--id", poisonId], { prefix: fx.prefix });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `requeued \\d+-\\d+ \\(original ${poisonId}\\) to executions as \\d+-\\d+\\n1 requeued, 0 skipped`,
    ),
  );
  assert.equal(await fx.redis.xLen(`${key}:dead`), 0);
  const last = (await fx.redis.xRevRange(key, "+", "-", { COUNT: 1 })) as RawEntry[];
  assert.deepEqual(last[0].message, { type: "execution", payload: '{"tradeId":"broken"}' });
  assert.notEqual(last[0].id, poisonId);
});

Deno.test("dead requeue --all moves every entry; a missing id or a bad command line is reported", async () => {
  await using fx = await redisFixture("dead");
  const key = streamKey(fx.prefix, STREAMS.orders);
  for (let i = 0; i < 3; i++) {
    await fx.redis.xAdd(`${key}:dead`, "*", {
      reason: "handler failed",
      source: "matching-engine/apply",
      originalId: `${i + 1}-0`,
      original: JSON.stringify({
        type: "openAccount",
        payload: JSON.stringify({ type: "openAccount", cmdId: `c${i}`, userId: "u" }),
      }),
    });
  }
  await fx.redis.xAdd(`${key}:dead`, "*", {
    reason: "r",
    source: "s",
    originalId: "9-0",
    original: "not json",
  });
  const all = await tools(["dead", "requeue", "orders:dead", "--all", "--json"], { prefix: fx.prefix });
  assert.equal(all.code, 1, "one entry could not be requeued");
  const results = jsonLines(all.stdout);
  assert.equal(results.filter((x) => x.newId).length, 3);
  assert.match(String(results.find((x) => x.skipped)!.skipped), /not readable JSON/);
  assert.equal(await fx.redis.xLen(key), 3);
  assert.equal(await fx.redis.xLen(`${key}:dead`), 1);
  const text = await tools(["tail", "orders", "--count", "3"], { prefix: fx.prefix });
  assert.equal(text.stdout.match(/openAccount user=u/g)?.length, 3);

  const missing = await tools(["dead", "requeue", "orders", "--id", "5-5"], { prefix: fx.prefix });
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /skipped 5-5: no dead letter with id 5-5/);
  const neither = await tools(["dead", "requeue", "orders"], { prefix: fx.prefix });
  assert.equal(neither.code, 2);
  assert.match(neither.stderr, /give --id ID \(repeatable\) or --all/);
});

Deno.test("dead with an execution that decodes shows its key fields through tail", async () => {
  await using fx = await redisFixture("dead");
  await fx.redis.xAdd(`${streamKey(fx.prefix, STREAMS.executions)}:dead`, "*", {
    reason: "ledger insert failed",
    source: "ledger-writer/lw-1",
    originalId: "7-0",
    original: JSON.stringify({
      type: "execution",
      payload: JSON.stringify(execution({ tradeId: "trd-77" })),
    }),
  });
  const r = await tools(["tail", "executions:dead", "--count", "1"], { prefix: fx.prefix });
  assert.match(
    r.stdout,
    /execution BTC-USD 0\.5 @ 65000\.00 .*trd-77 dead: ledger insert failed original=7-0/,
  );
});

Deno.test("dead requeue puts an entry two groups refused back once", async () => {
  await using fx = await redisFixture("dead");
  const poisonId = await withDeadLetter(fx, ["ledger-writer", "candle-aggregator"]);
  const key = streamKey(fx.prefix, STREAMS.executions);
  assert.equal(await fx.redis.xLen(`${key}:dead`), 2);
  const before = await fx.redis.xLen(key);
  const r = await tools(["dead", "requeue", "executions", "--id", poisonId], { prefix: fx.prefix });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 requeued, 0 skipped, 1 duplicate\(s\) removed/);
  assert.match(
    r.stdout,
    new RegExp(`another group's dead letter of ${poisonId}, requeued once as \\d+-\\d+`),
  );
  assert.equal(await fx.redis.xLen(key), before + 1);
  assert.equal(await fx.redis.xLen(`${key}:dead`), 0);
});
