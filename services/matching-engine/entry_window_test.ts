import assert from "node:assert/strict";
import { EntryWindow } from "./entry_window.ts";

/** Feeds entry sizes to a window and trims a stream model as Redis' exact MAXLEN would. */
function simulate(cap: number, sizes: number[]): { kept: number; maxEntry: number }[] {
  const w = new EntryWindow(cap);
  const stream: number[] = [];
  const seen: { kept: number; maxEntry: number }[] = [];
  for (const m of sizes) {
    stream.push(m);
    const n = w.add(m);
    if (n !== undefined) stream.splice(0, Math.max(0, stream.length - n));
    seen.push({ kept: stream.reduce((a, b) => a + b, 0), maxEntry: Math.max(...stream) });
  }
  return seen;
}

Deno.test("EntryWindow keeps the newest cap messages whatever the batch sizes do", () => {
  const cap = 1000;
  // busy minutes (batches of 200 messages) between quiet ones (1 message), as under bursty load
  const sizes: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 50; i++) sizes.push(200);
    for (let i = 0; i < 3000; i++) sizes.push(1);
  }
  let written = 0;
  for (const [i, s] of simulate(cap, sizes).entries()) {
    written += sizes[i];
    assert.ok(s.kept >= Math.min(cap, written), `entry ${i}: kept ${s.kept} of the last ${cap} messages`);
    assert.ok(s.kept < cap + 200, `entry ${i}: kept ${s.kept}, more than cap plus one entry`);
  }
});

Deno.test("EntryWindow trims nothing until it has seen the cap itself: older entries are unknown", () => {
  const w = new EntryWindow(1000);
  // after a restart under a backlog the first batches are large; the entries before them may hold
  // one message each, so no guess from the new ones is safe
  assert.equal(w.add(500), undefined);
  assert.equal(w.add(400), undefined);
  assert.equal(w.add(100), 3, "1000 messages seen: the three entries that hold them");
  for (let i = 0; i < 100; i++) w.add(10);
  assert.equal(w.add(10), 100, "from then on it counts exactly");
});

Deno.test("EntryWindow forgets what it no longer needs", () => {
  const w = new EntryWindow(100);
  // a million one-message entries: always the newest 100, kept as one run
  for (let i = 0; i < 1_000_000; i++) assert.equal(w.add(1), i < 99 ? undefined : 100);
  assert.equal(w.runs, 1);
  const big = new EntryWindow(1_000_000);
  for (let i = 0; i < 1_000_000; i++) big.add(1);
  assert.equal(big.add(1), 1_000_000);
  assert.equal(big.runs, 1, "a quiet engine's million entries cost one run, not a million numbers");
  const tiny = new EntryWindow(10);
  for (let i = 0; i < 9; i++) tiny.add(0);
  assert.equal(tiny.add(0), 10, "an empty entry counts as one message, never as infinity");
});
