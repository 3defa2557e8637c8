import assert from "node:assert/strict";
import type { Market } from "../gateway_client.ts";
import {
  botSetting,
  dayChange,
  defaultSymbol,
  ensureProblem,
  parseBounded,
  profileChoice,
  withNewPairs,
} from "./market.ts";

const market = (symbol: string, extra: Partial<Market> = {}): Market => ({
  symbol,
  base: symbol.split("-")[0],
  quote: symbol.split("-")[1],
  tickSize: "0.01",
  stepSize: "0.0001",
  minQty: "0.0001",
  minNotional: "0.01",
  status: "TRADING",
  ...extra,
} as Market);

Deno.test("withNewPairs() adds markets listed since, keeping the known rows' live prices", () => {
  const rows = [{ symbol: "BTC-USD", base: "BTC", quote: "USD", tickSize: "0.01", last: "65001" }];
  assert.equal(withNewPairs(rows, [market("BTC-USD", { lastPrice: "64000" })]), rows);
  const next = withNewPairs(rows, [market("BTC-USD"), market("SOL-USD", { startPrice: "150" })]);
  assert.deepEqual(next.map((r) => [r.symbol, r.base, r.quote]), [
    ["BTC-USD", "BTC", "USD"],
    ["SOL-USD", "SOL", "USD"],
  ]);
  assert.equal(next[0].last, "65001");
});

Deno.test("withNewPairs() takes a market's pause and resume from the listing", () => {
  const rows = [{ symbol: "BTC-USD", base: "BTC", quote: "USD", tickSize: "0.01", last: "65001" }];
  const paused = withNewPairs(rows, [market("BTC-USD", { status: "PAUSED" })]);
  assert.equal(paused[0].status, "PAUSED");
  assert.equal(paused[0].last, "65001");
  assert.equal(withNewPairs(paused, [market("BTC-USD", { status: "PAUSED" })]), paused, "unchanged");
  assert.equal(withNewPairs(paused, [market("BTC-USD")])[0].status, "TRADING");
});

Deno.test("defaultSymbol() prefers BTC-USD, else the first market", () => {
  assert.equal(defaultSymbol(["BTC-ETH", "BTC-USD", "ETH-USD"]), "BTC-USD");
  assert.equal(defaultSymbol(["BTC-ETH", "ETH-USD"]), "BTC-ETH");
  assert.equal(defaultSymbol([]), undefined);
});

Deno.test("parseBounded() gives a number in bounds, or a plain sentence", () => {
  const vol = { min: 0, max: 0.1 };
  assert.deepEqual(parseBounded(" 0.005 ", vol), { value: 0.005 });
  assert.deepEqual(parseBounded("", vol), {});
  // exponents as people write small numbers
  assert.deepEqual(parseBounded("1e-3", vol), { value: 0.001 });
  assert.deepEqual(parseBounded("5E-2", vol), { value: 0.05 });
  for (const bad of ["abc", "0.2", "-1", "1e-1x", "1e", "e-3", "2e-1", "0x1", "."]) {
    assert.deepEqual(parseBounded(bad, vol), { error: "Enter a number from 0 to 0.1." }, bad);
  }
  const count = { min: 0, max: 1000, integer: true };
  assert.deepEqual(parseBounded("3", count), { value: 3 });
  assert.deepEqual(parseBounded("2.5", count), { error: "Enter a whole number from 0 to 1000." });
  assert.deepEqual(parseBounded("lots", count), { error: "Enter a whole number from 0 to 1000." });
});

Deno.test("ensureProblem() checks the symbol and the start price", () => {
  assert.equal(ensureProblem("SOL-USD", ""), undefined);
  assert.equal(ensureProblem("SOL-USD", "150.25"), undefined);
  assert.equal(ensureProblem("SOLUSD", "")?.field, "symbol");
  assert.match(ensureProblem("SOLUSD", "")!.message, /BASE-QUOTE/);
  // a bad price is the price field's problem, not the symbol's
  assert.equal(ensureProblem("SOL-USD", "abc")?.field, "startPrice");
  assert.match(ensureProblem("SOL-USD", "abc")!.message, /start price as a number above 0/);
  assert.match(ensureProblem("SOL-USD", "0")!.message, /above 0/);
  // a new asset: no listed market implies its price, so it needs one
  const listed = ["BTC-USD", "ETH-USD", "BTC-ETH"];
  assert.deepEqual(ensureProblem("SOL-USD", "", listed), {
    field: "startPrice",
    message: "No listed market prices SOL in USD: enter its start price in USD.",
  });
  assert.equal(ensureProblem("SOL-USD", "150", listed), undefined);
  assert.equal(ensureProblem("ETH-BTC", "", listed), undefined, "implied by BTC-ETH");
  assert.equal(ensureProblem("BTC-USD", "", listed), undefined, "re-opening a listed market");
  assert.equal(
    ensureProblem("SOL-ETH", "", [...listed, "SOL-USD"]),
    undefined,
    "SOL-USD and ETH-USD imply it",
  );
});

Deno.test("profileChoice() preselects the simulator's profile, custom for a raw volatility", () => {
  const names = ["calm", "normal", "volatile", "crash"];
  assert.deepEqual(profileChoice(names, undefined), { value: "normal", custom: false });
  assert.deepEqual(profileChoice(names, { profile: "volatile" }), { value: "volatile", custom: false });
  assert.deepEqual(profileChoice(names, { profile: "custom" }), { value: "custom", custom: true });
  assert.deepEqual(profileChoice(names, { profile: "calm-custom" }), { value: "custom", custom: true });
});

Deno.test("botSetting() reads one kind's count and rate from the simulator's status", () => {
  const bots = { noise: { count: 4, ratePerSec: 0.5, active: 4 }, maker: { count: 2 } };
  assert.deepEqual(botSetting(bots, "noise"), { count: 4, ratePerSec: 0.5 });
  assert.deepEqual(botSetting(bots, "maker"), { count: 2 });
  assert.deepEqual(botSetting(bots, "momentum"), {});
  assert.deepEqual(botSetting(undefined, "noise"), {});
  assert.deepEqual(botSetting({ noise: "x" }, "noise"), {});
});

Deno.test("dayChange() is last - open24h and its percent, rounded as the ticker rounds it", () => {
  assert.deepEqual(dayChange("65000", "65650"), { change: "650", pct: "1.00" });
  assert.deepEqual(dayChange("65012.05", "64920.11"), { change: "-91.94", pct: "-0.14" });
  // half a hundredth rounds away from zero, both ways
  assert.deepEqual(dayChange("200", "200.01"), { change: "0.01", pct: "0.01" });
  assert.deepEqual(dayChange("200", "199.99"), { change: "-0.01", pct: "-0.01" });
  assert.deepEqual(dayChange("100", "100.004"), { change: "0.004", pct: "0.00" });
  assert.deepEqual(dayChange("100", "99.996"), { change: "-0.004", pct: "0.00" }, "no minus on a zero");
  assert.equal(dayChange(undefined, "1"), undefined);
  assert.equal(dayChange("1", "abc"), undefined);
});
