import assert from "node:assert/strict";
import * as nodeCrypto from "node:crypto";
import { assertCoreInvariants } from "../core/invariants.ts";
import {
  collectOps,
  differences,
  loadWorkload,
  prepareRun,
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
