import assert from "node:assert/strict";
import { runErrors, successfulPerSec, summarizeRuns, type WrkResult } from "./wrk_result.ts";

const run = (over: Partial<WrkResult> = {}): WrkResult => ({
  requests: 10_000,
  durationUs: 2_000_000,
  non2xx: 0,
  socketErrors: 0,
  p50Us: 1000,
  p90Us: 2000,
  p99Us: 5000,
  maxUs: 9000,
  ...over,
});

Deno.test("successfulPerSec(): non-2xx answers are not throughput", () => {
  assert.equal(successfulPerSec(run()), 5000);
  assert.equal(successfulPerSec(run({ non2xx: 4000 })), 3000);
});

Deno.test("runErrors(): empty for a clean run; names non-2xx answers and socket errors", () => {
  assert.equal(runErrors(run()), "");
  assert.match(runErrors(run({ non2xx: 3 })), /ERRORS: 3 non-2xx answers, 0 socket errors/);
  assert.match(runErrors(run({ socketErrors: 2 })), /0 non-2xx answers, 2 socket errors/);
});

Deno.test("summarizeRuns(): median of successful answers; flags the runs with errors", () => {
  const clean = summarizeRuns([run(), run({ requests: 8000 }), run({ requests: 12_000 })]);
  assert.equal(clean.okPerSec, 5000);
  assert.deepEqual(clean.perRun, [5000, 4000, 6000]);
  assert.equal(clean.flag, "");
  const failing = summarizeRuns([run(), run({ non2xx: 10_000 }), run({ socketErrors: 5 })]);
  assert.equal(failing.failedRuns, 2);
  assert.equal(failing.okPerSec, 5000);
  assert.equal(failing.flag, "ERRORS in 2 of 3 runs (10000 non-2xx, 5 socket errors)");
});
