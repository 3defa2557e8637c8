import assert from "node:assert/strict";
import fc from "fast-check";
import { feeAccumulate, feeCeil, feeDelta, feeOf } from "./fees.ts";

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

Deno.test("feeOf() is ceil(notional * bps / 10000), exact up to 2^53", async (t) => {
  const cases: [notional: number, bps: number, fee: number][] = [
    [0, 25, 0],
    [1, 1, 1],
    [10_000, 25, 25],
    [10_001, 25, 26],
    [3, 10_000, 3],
    [Number.MAX_SAFE_INTEGER, 10_000, Number.MAX_SAFE_INTEGER],
    [Number.MAX_SAFE_INTEGER, 1, 900_719_925_475],
  ];
  for (const [n, bps, fee] of cases) {
    await t.step(`${n} at ${bps} bps`, () => assert.equal(feeOf(n, bps), fee));
  }
  await t.step("matches bigint arithmetic on random values", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: 0, max: 10_000 }), (n, bps) => {
        assert.equal(BigInt(feeOf(n, bps)), ceilDiv(BigInt(n) * BigInt(bps), 10_000n));
      }),
      { numRuns: 2000 },
    );
  });
});

Deno.test("feeDelta() charges the increase of the ceiling of an order's accumulated fee", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 10_000 })), {
        maxLength: 20,
      }),
      (fills) => {
        let wq = 0;
        let wr = 0;
        let charged = 0;
        let exact = 0n;
        const out = new Float64Array(1);
        for (const [n, bps] of fills) {
          charged += feeDelta(wq, wr, n, bps);
          wq = feeAccumulate(wq, wr, n, bps, out);
          wr = out[0]!;
          exact += BigInt(n) * BigInt(bps);
          assert.ok(wr >= 0 && wr < 10_000);
        }
        assert.equal(BigInt(charged), ceilDiv(exact, 10_000n));
        assert.equal(charged, feeCeil(wq, wr));
      },
    ),
    { numRuns: 1000 },
  );
});
