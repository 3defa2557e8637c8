import assert from "node:assert/strict";
import type { Timeframe } from "@lib/contracts";
import { dbFixture, sampleCandle } from "@lib/testing";
import { pruneShortCandles, upsertCandles } from "./pg.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 26);

const candle = (timeframe: Timeframe, openTime: number) => sampleCandle({ timeframe, openTime });

Deno.test("pruneShortCandles() deletes old 1s and 5s candles only", async () => {
  await using db = await dbFixture();
  await upsertCandles(db.sql, [
    candle("1s", NOW - 8 * DAY),
    candle("5s", NOW - 8 * DAY),
    candle("1s", NOW - 6 * DAY),
    candle("1m", NOW - 400 * DAY),
    candle("1h", NOW - 400 * DAY),
  ]);
  assert.equal(await pruneShortCandles(db.sql, 7, NOW), 2);
  const left = await db.sql`SELECT timeframe FROM candles ORDER BY timeframe`;
  assert.deepEqual(
    left.map((r) => r.timeframe),
    ["1h", "1m", "1s"],
    "the recent 1s and every longer one stay",
  );
});
