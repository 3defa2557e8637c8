import assert from "node:assert/strict";
import * as nodeCrypto from "node:crypto";
import { assertCoreInvariants } from "../core/invariants.ts";
import {
  collectOps,
  differences,
  loadWorkload,
  prepareRun,
  resultLine,
  runOps,
  summarize,
  workloadPath,
} from "./workload_core.ts";

const path = workloadPath(Deno.env.get("KALENCY_BENCH_WORKLOAD"));
let present = true;
try {
  Deno.statSync(path);
} catch {
  present = false;
}

Deno.test({
  name: "the core matches the reference matcher on the first 30,000 operations of both workloads",
  ignore: !present,
  async fn(t) {
    const workload = await loadWorkload(path);
    (globalThis as Record<string, unknown>).__nodeCrypto = nodeCrypto;
    const expected = (workload as unknown as { expected: (o: object) => Record<string, unknown> }).expected;
    for (const variant of ["standard", "deep"]) {
      await t.step(variant, () => {
        const ops = collectOps(workload.operations({ variant, ops: 30_000 } as { variant: string }));
        const r = prepareRun(ops);
        runOps(r.core, r.market, r.users, ops, r.fills, r.st, 0, ops.count);
        assert.deepEqual(
          differences(summarize(r.core, r.market, r.fills, r.st), expected({ variant, ops: 30_000 })),
          [],
        );
        assertCoreInvariants(r.core);
      });
    }
  },
});

Deno.test("workloadPath(): a relative KALENCY_BENCH_WORKLOAD is taken from the working directory", () => {
  assert.equal(
    workloadPath("../shared/bench/workload.mjs", "/srv/kalency"),
    "/srv/shared/bench/workload.mjs",
  );
  assert.equal(workloadPath("/abs/workload.mjs", "/srv/kalency"), "/abs/workload.mjs");
  assert.match(workloadPath(undefined), /\/shared\/bench\/workload\.mjs$/);
});

Deno.test("resultLine(): every key of the specified shape, with null speeds and the differences on a mismatch", () => {
  assert.deepEqual(resultLine("standard", 10, [], { opsPerSec: 5, p50Us: 1, p99Us: 2 }), {
    variant: "standard",
    ops: 10,
    opsPerSec: 5,
    p50Us: 1,
    p99Us: 2,
    matchesReference: true,
  });
  assert.deepEqual(resultLine("deep", 10, ["trades: got 1, reference 2"]), {
    variant: "deep",
    ops: 10,
    opsPerSec: null,
    p50Us: null,
    p99Us: null,
    matchesReference: false,
    differences: ["trades: got 1, reference 2"],
  });
});
