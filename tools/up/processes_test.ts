import assert from "node:assert/strict";
import { restartDelay, supervise } from "./processes.ts";

Deno.test("restartDelay() backs off to 8 s, then keeps retrying every 30 s instead of giving up", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(restartDelay), [500, 1000, 2000, 4000, 8000]);
  // a service whose port is held by another connection for a minute must come back by itself
  for (const exits of [6, 7, 60, 1000]) assert.equal(restartDelay(exits), 30_000);
});

Deno.test("stop() does not sit out a restart delay", async () => {
  const logs: string[] = [];
  const s = supervise(
    { name: "crasher", args: ["eval", "Deno.exit(3)"], port: 0, portVar: "X" },
    0,
    7,
    {
      deno: Deno.execPath(),
      cwd: Deno.cwd(),
      env: {},
      colour: false,
      log: (m) => logs.push(m),
      onRepeatedFailure() {},
    },
  );
  // the second exit waits 1 s before the next start
  while (!logs.some((l) => /restarting in 1000 ms/.test(l))) await new Promise((r) => setTimeout(r, 20));
  const t0 = performance.now();
  await s.stop();
  assert.ok(performance.now() - t0 < 500, `stopped after ${Math.round(performance.now() - t0)} ms`);
  assert.equal(logs.filter((l) => /exited with code 3/.test(l)).length, 2, "not started again");
});
