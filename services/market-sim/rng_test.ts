import assert from "node:assert/strict";
import { createRng } from "./rng.ts";

function draws(seed: string, label: string, n = 8): number[] {
  const rng = createRng(seed, label);
  return Array.from({ length: n }, () => rng.nextU32());
}

Deno.test("createRng() gives the same sequence for the same seed and label", () => {
  assert.deepEqual(draws("42", "price/BTC-USD"), draws("42", "price/BTC-USD"));
});

Deno.test("createRng() gives independent sequences for other seeds and labels", () => {
  assert.notDeepEqual(draws("42", "price/BTC-USD"), draws("43", "price/BTC-USD"));
  assert.notDeepEqual(draws("42", "price/BTC-USD"), draws("42", "price/ETH-USD"));
});

Deno.test("Rng draws have the moments of their distributions", () => {
  const rng = createRng("moments", "test");
  const n = 100_000;
  let su = 0, sn = 0, sn2 = 0, sp = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    su += u;
    const z = rng.normal();
    sn += z;
    sn2 += z * z;
    sp += rng.poisson(0.3);
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.01, `uniform mean ${su / n}`);
  assert.ok(Math.abs(sn / n) < 0.02, `normal mean ${sn / n}`);
  assert.ok(Math.abs(sn2 / n - 1) < 0.03, `normal variance ${sn2 / n}`);
  assert.ok(Math.abs(sp / n - 0.3) < 0.02, `poisson mean ${sp / n}`);
});

Deno.test("Rng.int() stays in range", () => {
  const rng = createRng("int", "test");
  for (let i = 0; i < 1000; i++) {
    const k = rng.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
  }
});
