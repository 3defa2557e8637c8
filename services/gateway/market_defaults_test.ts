import assert from "node:assert/strict";
import { defaultsForPrice, impliedPrice, priceRatio, stepForTick } from "./market_defaults.ts";

const LISTED = [
  { base: "BTC", quote: "USD", price: "64000" },
  { base: "ETH", quote: "USD", price: "3200" },
  { base: "SOL", quote: "BTC", price: "0.0025" },
];

const text = (r: { num: bigint; den: bigint } | undefined) => r && defaultsForPrice(r, 8)?.startPrice;

Deno.test("impliedPrice() crosses the listed markets either way, by the shortest chain", () => {
  assert.equal(text(impliedPrice("ETH", "BTC", LISTED)), "0.05");
  assert.equal(text(impliedPrice("BTC", "ETH", LISTED)), "20");
  assert.equal(text(impliedPrice("SOL", "USD", LISTED)), "160");
  assert.equal(text(impliedPrice("SOL", "ETH", LISTED)), "0.05");
  assert.equal(impliedPrice("DOGE", "USD", LISTED), undefined, "no market joins DOGE");
  assert.equal(impliedPrice("USD", "USD", LISTED), undefined);
});

Deno.test("defaultsForPrice() gives about five significant digits and tick x step in whole minor units", () => {
  const at = (price: string, decimals: number, given = {}) =>
    defaultsForPrice(priceRatio(price)!, decimals, given);
  assert.deepEqual(at("160", 6), { startPrice: "160", tickSize: "0.01", stepSize: "0.0001" });
  assert.deepEqual(at("64123.556", 6), { startPrice: "64124", tickSize: "1", stepSize: "0.0001" });
  assert.deepEqual(at("0.0492345", 8), { startPrice: "0.049235", tickSize: "0.000001", stepSize: "0.01" });
  assert.deepEqual(at("123456789", 6), { startPrice: "123456789", tickSize: "1", stepSize: "0.0001" });
  // a given step leaves its decimals; a given price keeps its own
  assert.deepEqual(at("0.05", 8, { stepDecimals: 3 }), {
    startPrice: "0.05",
    tickSize: "0.00001",
    stepSize: "0.001",
  });
  assert.deepEqual(at("160.1234", 6, { minTickDecimals: 4 }), {
    startPrice: "160.1234",
    tickSize: "0.0001",
    stepSize: "0.01",
  });
  // below one minor unit of the quote: no default
  assert.equal(at("0.0000001", 6), undefined);
  for (const [price, decimals] of [["160", 6], ["0.0492345", 8], ["3", 2], ["64000", 0]] as const) {
    const d = at(price, decimals)!;
    const minor = (d.tickSize.split(".")[1]?.length ?? 0) + (d.stepSize.split(".")[1]?.length ?? 0);
    assert.ok(minor <= decimals, `${price}: ${d.tickSize} x ${d.stepSize} fits ${decimals} decimals`);
  }
});

Deno.test("stepForTick() gives the step that fits a given tick", () => {
  assert.equal(stepForTick("0.01", 6), "0.0001");
  assert.equal(stepForTick("0.00001", 6), "0.1");
  assert.equal(stepForTick("0.000001", 6), "1");
});
