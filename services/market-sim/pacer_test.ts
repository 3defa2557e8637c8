import assert from "node:assert/strict";
import { Pacer } from "./pacer.ts";

Deno.test("Pacer lets a burst through at once, then one per interval", () => {
  const pacer = new Pacer({ burst: 3, intervalMs: 1000 }, 0);
  assert.deepEqual([pacer.take(0), pacer.take(0), pacer.take(0)], [0, 0, 0]);
  assert.equal(pacer.take(0), 1000, "the fourth waits a whole interval");
  assert.equal(pacer.take(400), 600, "and less as time passes");
  assert.equal(pacer.take(1000), 0);
  assert.equal(pacer.take(1000), 1000);
  // idle time refills up to the burst, never beyond it
  const later = [pacer.take(60_000), pacer.take(60_000), pacer.take(60_000), pacer.take(60_000)];
  assert.deepEqual(later, [0, 0, 0, 1000]);
});

Deno.test("Pacer keeps a thousand sign-ups under the gateway's 30 per 10 s", () => {
  const pacer = new Pacer({ burst: 10, intervalMs: 1000 }, 0);
  const times: number[] = [];
  let now = 0;
  for (let i = 0; i < 1000; i++) {
    for (let wait = pacer.take(now); wait > 0; wait = pacer.take(now)) now += wait;
    times.push(now);
  }
  for (let i = 0; i < times.length; i++) {
    const inWindow = times.filter((t) => t >= times[i] && t < times[i] + 10_000).length;
    assert.ok(inWindow <= 20, `${inWindow} sign-ups in the 10 s from ${times[i]} ms`);
  }
  assert.equal(times.at(-1), 990_000, "10 at once, then one a second");
});
