import assert from "node:assert/strict";
import { keys } from "@lib/contracts";
import { redisFixture } from "@lib/testing";
import { loadSnapshot, readManifest, saveSnapshot, snapshotSlotKey } from "./snapshot_store.ts";

function bigState(n: number) {
  return {
    version: 1,
    lastCommandId: `${n}-0`,
    state: {
      orders: Array.from(
        { length: n },
        (_, i) => ({ id: `o-${i}`, price: String(65000 + (i % 97)), note: "é" }),
      ),
    },
  };
}

Deno.test("saveSnapshot() and loadSnapshot() round-trip, compressed or not, in several chunks", async (t) => {
  await using fx = await redisFixture("snap");
  const { redis, prefix } = fx;
  for (const compress of [true, false]) {
    await t.step(compress ? "gzip" : "identity", async () => {
      const snap = bigState(5000);
      const json = JSON.stringify(snap);
      const manifest = await saveSnapshot(redis, prefix, {
        cursor: "5000-0",
        lastCommandId: snap.lastCommandId,
        json,
        takenAt: 1,
      }, { compress, chunkBytes: 4096 });
      assert.ok(manifest.chunks > 1);
      assert.equal(manifest.jsonBytes, new TextEncoder().encode(json).length);
      const loaded = await loadSnapshot(redis, prefix);
      assert.deepEqual(loaded?.snapshot, snap);
      assert.equal(loaded?.manifest.cursor, "5000-0");
    });
  }
});

Deno.test("saveSnapshot() writes the other slot, so the previous snapshot stays whole until the switch", async () => {
  await using fx = await redisFixture("snap");
  const { redis, prefix } = fx;
  assert.equal(await loadSnapshot(redis, prefix), undefined);
  const first = await saveSnapshot(redis, prefix, {
    cursor: "1-0",
    lastCommandId: "1-0",
    json: '{"a":1}',
    takenAt: 1,
  });
  const second = await saveSnapshot(redis, prefix, {
    cursor: "2-0",
    lastCommandId: "2-0",
    json: '{"a":2}',
    takenAt: 2,
  });
  assert.notEqual(first.slot, second.slot);
  // a save that dies after writing its chunks but before the manifest leaves the last one in force
  await redis.hSet(snapshotSlotKey(prefix, first.slot), "0", "garbage");
  assert.equal((await readManifest(redis, prefix))?.cursor, "2-0");
  assert.deepEqual((await loadSnapshot(redis, prefix))?.snapshot, { a: 2 });
});

Deno.test("loadSnapshot() fails clearly when a chunk is missing", async () => {
  await using fx = await redisFixture("snap");
  const { redis, prefix } = fx;
  const m = await saveSnapshot(redis, prefix, {
    cursor: "1-0",
    lastCommandId: undefined,
    json: '{"a":1}',
    takenAt: 1,
  });
  await redis.del(snapshotSlotKey(prefix, m.slot));
  await assert.rejects(() => loadSnapshot(redis, prefix), /chunk 0 of 1 is missing/);
  assert.ok(await redis.exists(keys.snapshot(prefix)));
});
