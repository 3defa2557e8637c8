import assert from "node:assert/strict";
import { restartDelay } from "./processes.ts";

Deno.test("restartDelay() backs off to 8 s, then keeps retrying every 30 s instead of giving up", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(restartDelay), [500, 1000, 2000, 4000, 8000]);
  // a service whose port is held by another connection for a minute must come back by itself
  for (const exits of [6, 7, 60, 1000]) assert.equal(restartDelay(exits), 30_000);
});
