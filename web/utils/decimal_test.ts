import assert from "node:assert/strict";
import {
  addDecimal,
  compareDecimal,
  divDecimal,
  floorToStep,
  formatAmount,
  formatCompact,
  formatPlaces,
  formatRounded,
  formatStep,
  groupThousands,
  mulDecimal,
  roundPlaces,
  subDecimal,
  toUnits,
} from "./decimal.ts";

Deno.test("compareDecimal() orders decimals exactly, whatever their places", () => {
  assert.equal(compareDecimal("65000.1", "65000.10"), 0);
  assert.equal(compareDecimal("9.99", "10"), -1);
  assert.equal(compareDecimal("0.30000000000000001", "0.3"), 1);
  assert.equal(compareDecimal("-1", "0"), -1);
});

Deno.test("addDecimal(), subDecimal(), mulDecimal() and divDecimal() are exact", () => {
  assert.equal(addDecimal("0.1", "0.2"), "0.3");
  assert.equal(subDecimal("65000.25", "65000.5"), "-0.25");
  assert.equal(mulDecimal("65000.25", "0.0001"), "6.500025");
  assert.equal(divDecimal("100", "3", 4), "33.3333");
});

Deno.test("formatStep() shows the step's places and cuts, never rounds up", async (t) => {
  const cases: [text: string, step: string, expected: string][] = [
    ["65000.5", "0.01", "65000.50"],
    ["65000.129", "0.01", "65000.12"],
    ["3", "0.0001", "3.0000"],
    ["12", "1", "12"],
  ];
  for (const [text, step, expected] of cases) {
    await t.step(`${text} at ${step}`, () => assert.equal(formatStep(text, step), expected));
  }
  assert.equal(formatStep(undefined, "0.01"), "—");
  assert.equal(formatStep("1234567.5", "0.01", true), "1,234,567.50");
});

Deno.test("formatPlaces() keeps between min and max places", () => {
  assert.equal(formatPlaces("1.5", 2, 8), "1.50");
  assert.equal(formatPlaces("0.12345678912", 2, 8), "0.12345678");
  assert.equal(formatPlaces("7", 0, 4), "7");
});

Deno.test("floorToStep() rounds down to a whole number of steps", () => {
  assert.equal(floorToStep("1.23456", "0.001"), "1.234");
  assert.equal(floorToStep("0.00009", "0.0001"), "0");
  assert.equal(floorToStep("105", "5"), "105");
  assert.equal(floorToStep("107", "5"), "105");
});

Deno.test("groupThousands() groups the integer part only", () => {
  assert.equal(groupThousands("-1234567.8912"), "-1,234,567.8912");
  assert.equal(groupThousands("999"), "999");
});

Deno.test("values with only zeros after the point are plain numbers, as typed in a form", () => {
  // "1.0" and "0.00" arrive while someone types "1.05" or "0.0001" key by key
  assert.equal(mulDecimal("64982.07", "1.0"), "64982.07");
  assert.equal(mulDecimal("64982.07", "0.00"), "0");
  assert.equal(addDecimal("2.0", "0.50"), "2.5");
  assert.equal(compareDecimal("1.0", "1"), 0);
  assert.equal(toUnits("3.000", 0), 3n);
  assert.equal(toUnits("-3.90", 0), -3n);
});

Deno.test("formatAmount() keeps every digit and pads to the places asked for", () => {
  assert.equal(formatAmount("100529.76", 0), "100529.76", "a tick of 1 does not cut the cents");
  assert.equal(formatAmount("100000", 2), "100000.00");
  assert.equal(formatAmount("2", 4), "2.0000");
  assert.equal(formatAmount("0.123456789", 4), "0.123456789");
  assert.equal(formatAmount("-1.5", 2), "-1.50");
  assert.equal(formatAmount(undefined, 2), "—");
});

Deno.test("formatCompact() groups thousands below 10,000 and shortens above", () => {
  assert.equal(formatCompact("3054.62"), "3,054.62");
  assert.equal(formatCompact("512.5"), "512.5");
  assert.equal(formatCompact("0.1234567"), "0.1234");
  assert.equal(formatCompact("12345"), "12.35K");
  assert.equal(formatCompact(undefined), "—");
});

Deno.test("roundPlaces() rounds half away from zero, for display; formatRounded() on a step", () => {
  assert.equal(roundPlaces("64868.789", 2), "64868.79");
  assert.equal(roundPlaces("64868.784", 2), "64868.78");
  assert.equal(roundPlaces("0.00975", 3), "0.010");
  assert.equal(roundPlaces("0.0045", 3), "0.005");
  assert.equal(roundPlaces("-272.46408", 2), "-272.46");
  assert.equal(roundPlaces("-0.004", 2), "0.00");
  assert.equal(roundPlaces("1.5", 4), "1.5", "fewer places: as it is");
  assert.equal(roundPlaces("99.995", 2), "100.00");
  assert.equal(formatRounded("64868.789", "0.01", true), "64,868.79");
  assert.equal(formatRounded("65000", "0.01"), "65000.00");
  assert.equal(formatRounded(undefined, "0.01"), "—");
});
