import assert from "node:assert/strict";
import {
  DecimalError,
  decimalPlaces,
  formatUnits,
  formatUnitsTrimmed,
  fromSteps,
  fromStepsTrimmed,
  isDecimalString,
  parseUnits,
  percentText,
  toSteps,
} from "./mod.ts";

Deno.test("parseUnits() turns decimal strings into exact minor units", () => {
  assert.equal(parseUnits("65000.25", 2), 6500025n);
  assert.equal(parseUnits("0.00000001", 8), 1n);
  assert.equal(parseUnits("12", 6), 12_000000n);
  assert.equal(parseUnits("1.500", 1), 15n); // trailing zeros are not precision
  assert.equal(parseUnits("123456789012345678901234567890", 0), 123456789012345678901234567890n);
});

Deno.test("parseUnits() refuses what it cannot represent exactly", () => {
  assert.throws(() => parseUnits("0.001", 2), DecimalError);
  for (const bad of ["", "-1", "1e3", ".5", "5.", "01", "1,5", " 1", "NaN"]) {
    assert.throws(() => parseUnits(bad, 8), DecimalError, bad);
  }
});

Deno.test("formatUnits() and formatUnitsTrimmed() print exact decimals", () => {
  assert.equal(formatUnits(6500025n, 2), "65000.25");
  assert.equal(formatUnits(1, 8), "0.00000001");
  assert.equal(formatUnits(-150, 2), "-1.50");
  assert.equal(formatUnits(7n, 0), "7");
  assert.equal(formatUnitsTrimmed(150_000000n, 8), "1.5");
  assert.equal(formatUnitsTrimmed(200n, 2), "2");
});

Deno.test("toSteps() and fromSteps() convert between decimals and whole ticks or lots", () => {
  assert.equal(toSteps("65000.25", "0.01"), 6500025);
  assert.equal(toSteps("0.0150", "0.005"), 3);
  assert.equal(toSteps("0.013", "0.005"), undefined); // off the step
  assert.equal(toSteps("1", "0"), undefined);
  assert.equal(fromSteps(6500025, "0.01"), "65000.25");
  assert.equal(fromSteps(3, "0.005"), "0.015");
  assert.equal(fromSteps(6490900, "0.01"), "64909.00");
  assert.equal(fromStepsTrimmed(6490900, "0.01"), "64909");
  assert.equal(fromStepsTrimmed(6490910, "0.01"), "64909.1");
});

Deno.test("isDecimalString() and decimalPlaces() read decimal text", () => {
  assert.ok(isDecimalString("0.5"));
  assert.ok(!isDecimalString("-0.5"));
  assert.equal(decimalPlaces("1.2300"), 2);
  assert.equal(decimalPlaces("7"), 0);
});

Deno.test("percentText() is a percent with two decimals, rounded half away from zero", () => {
  assert.equal(percentText(650n, 65000n), "1.00");
  assert.equal(percentText(-9194n, 6501205n), "-0.14");
  assert.equal(percentText(1n, 20000n), "0.01", "0.005 % rounds up");
  assert.equal(percentText(-1n, 20000n), "-0.01", "and down");
  assert.equal(percentText(-4n, 100000n), "0.00", "no minus on a zero");
  assert.equal(percentText(5n, 0n), "0.00");
});
