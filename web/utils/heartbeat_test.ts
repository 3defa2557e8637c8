import assert from "node:assert/strict";
import { silenceLimitMs } from "./heartbeat.ts";

Deno.test("a connection is dead after three missed heartbeats (15 s at the gateway's 5 s)", () => {
  assert.equal(silenceLimitMs(5000), 15_000);
  // the gateway may announce another interval
  assert.equal(silenceLimitMs(1000), 3000);
});
