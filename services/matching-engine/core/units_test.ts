import assert from "node:assert/strict";
import fc from "fast-check";
import { formatUnitsTrimmed, parseUnits } from "@lib/money";
import { amountText, marketUnits, step, stepsText, toMinor, toStepsChecked } from "./units.ts";

Deno.test("toStepsChecked() converts exactly and says off-step or too large", async (t) => {
  const cases: [text: string, step: string, expected: number | "off" | "large"][] = [
    ["65000.25", "0.01", 6_500_025],
    ["65000.250", "0.01", 6_500_025],
    ["65000.255", "0.01", "off"],
    ["0.0001", "0.0001", 1],
    ["1", "0.0001", 10_000],
    ["0.5", "0.25", 2],
    ["0.3", "0.25", "off"],
    ["0", "0.01", 0],
    ["90071992547409920", "1", "large"],
    ["12345678901234567890.5", "0.5", "large"],
  ];
  for (const [text, s, expected] of cases) {
    await t.step(`${text} in steps of ${s}`, () => assert.equal(toStepsChecked(text, step(s)), expected));
  }
  await t.step("agrees with bigint arithmetic on random values", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.integer({ min: 0, max: 12 }),
        fc.constantFrom("1", "0.01", "0.0001", "0.25", "5", "0.001", "0.00000001"),
        (units, decimals, s) => {
          const text = formatUnitsTrimmed(units, decimals);
          const d = Math.max(decimals, step(s).decimals);
          const v = parseUnits(text, d);
          const u = parseUnits(s, d);
          const expected = v % u !== 0n
            ? "off"
            : v / u > BigInt(Number.MAX_SAFE_INTEGER)
            ? "large"
            : Number(v / u);
          assert.equal(toStepsChecked(text, step(s)), expected);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

Deno.test("amountText() and stepsText() write minor units as trimmed decimals", () => {
  assert.equal(amountText(0, 6), "0");
  assert.equal(amountText(1, 8), "0.00000001");
  assert.equal(amountText(-45_507_000_000, 6), "-45507");
  assert.equal(amountText(123_450_000, 6), "123.45");
  assert.equal(stepsText(6_500_025, step("0.01")), "65000.25");
  assert.equal(stepsText(3, step("0.25")), "0.75");
  fc.assert(
    fc.property(
      fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: 0, max: 18 }),
      (n, d) => {
        assert.equal(amountText(n, d), formatUnitsTrimmed(BigInt(n), d));
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("toMinor() refuses more decimals than the asset has", () => {
  assert.equal(toMinor("1.5", 6), 1_500_000);
  assert.equal(toMinor("1.0000001", 6), "precise");
  assert.equal(toMinor("1e3", 6), "bad");
  assert.equal(toMinor("9007199254.740992", 6), "large");
});

Deno.test("marketUnits() derives k and lot size, and rejects a notional that is not whole minor units", () => {
  const spec = {
    symbol: "BTC-USDT",
    base: "BTC",
    quote: "USDT",
    tickSize: "0.01",
    stepSize: "0.0001",
    minQty: "0.0001",
    maxQty: "1000",
    minNotional: "5",
    status: "TRADING" as const,
    startPrice: "64123.45",
  };
  const u = marketUnits(spec, 8, 6);
  assert.ok(!("message" in u));
  assert.deepEqual([u.k, u.baseK, u.minQty, u.maxQty, u.minNotional, u.startPrice], [
    1,
    10_000,
    1,
    10_000_000,
    5_000_000,
    6_412_345,
  ]);
  // The worked example of docs/money.md: buy 0.25 BTC @ 64123.45 = 2,500 lots x 6,412,345 ticks x 1.
  assert.equal(2_500 * 6_412_345 * u.k, 16_030_862_500);
  const coarse = marketUnits({ ...spec, stepSize: "0.00001" }, 8, 2);
  assert.ok("message" in coarse && /whole number of USDT minor units/.test(coarse.message));
  const fine = marketUnits({ ...spec, stepSize: "0.000000001" }, 8, 18);
  assert.ok("message" in fine && /finer than BTC's 8 decimals/.test(fine.message));
  // a multiple of the step, but of more steps than a safe integer: "too large", not "not a multiple"
  const huge = marketUnits({ ...spec, stepSize: "1", minQty: "1", maxQty: "99999999999999999999" }, 8, 6);
  assert.ok("message" in huge);
  assert.equal(huge.field, "maxQty");
  assert.match(huge.message, /^maxQty is too large: at most 9007199254740991 steps of 1/);
  const offStep = marketUnits({ ...spec, maxQty: "1000.00001" }, 8, 6);
  assert.ok("message" in offStep && /positive multiple of stepSize/.test(offStep.message));
});
