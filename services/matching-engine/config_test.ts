import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "@lib/config";
import { DEFAULT_ASSETS, DEFAULT_MARKETS, DEFAULT_START_BALANCES } from "@lib/contracts";
import { EngineConfig, engineSettingsFrom, syntheticMarkets } from "./config.ts";
import type { EngineSettings } from "./engine_api.ts";

const DEFAULTS: EngineSettings = {
  assets: DEFAULT_ASSETS,
  markets: DEFAULT_MARKETS,
  makerFeeBps: 0,
  takerFeeBps: 0,
  startBalances: DEFAULT_START_BALANCES,
  priceBandPct: 10,
  maxOpenOrdersPerUser: 200,
  feeAccount: "fees",
  bookDepth: 20,
};

Deno.test("EngineConfig keeps the engine defaults when nothing is set", () => {
  const config = loadConfig(EngineConfig, {});
  assert.equal(config.KALENCY_ENGINE_PORT, 9101);
  assert.equal(config.KALENCY_SNAPSHOT_INTERVAL_MS, 10_000);
  assert.deepEqual(engineSettingsFrom(config, DEFAULTS), DEFAULTS);
});

Deno.test("EngineConfig reads balances, fees, limits and synthetic markets", () => {
  const config = loadConfig(EngineConfig, {
    KALENCY_START_BALANCES: "USD=5000, BTC=0.5",
    KALENCY_MAKER_FEE_BPS: "2",
    KALENCY_TAKER_FEE_BPS: "7",
    KALENCY_PRICE_BAND_PCT: "25",
    KALENCY_MAX_OPEN_ORDERS: "50",
    KALENCY_SYNTHETIC_MARKETS: "3",
  });
  const s = engineSettingsFrom(config, DEFAULTS);
  assert.deepEqual(s.startBalances, { USD: "5000", BTC: "0.5", S001: "1000", S002: "1000", S003: "1000" });
  assert.equal(s.makerFeeBps, 2);
  assert.equal(s.takerFeeBps, 7);
  assert.equal(s.priceBandPct, 25);
  assert.equal(s.maxOpenOrdersPerUser, 50);
  assert.deepEqual(s.markets.map((m) => m.symbol), [
    "BTC-USD",
    "ETH-USD",
    "BTC-ETH",
    "S001-USD",
    "S002-USD",
    "S003-USD",
  ]);
  assert.ok(s.assets.some((a) => a.code === "S003"));
});

Deno.test("EngineConfig replaces the markets with KALENCY_MARKETS and its assets with KALENCY_ASSETS", () => {
  const sol = { ...syntheticMarkets(1).markets[0], symbol: "SOL-USD", base: "SOL" };
  const config = loadConfig(EngineConfig, {
    KALENCY_MARKETS: JSON.stringify([sol]),
    KALENCY_ASSETS: "SOL=9",
  });
  const s = engineSettingsFrom(config, DEFAULTS);
  assert.deepEqual(s.markets.map((m) => m.symbol), ["SOL-USD"]);
  assert.deepEqual(s.assets.find((a) => a.code === "SOL"), { code: "SOL", decimals: 9 });
  assert.throws(
    () => engineSettingsFrom(loadConfig(EngineConfig, { KALENCY_MARKETS: JSON.stringify([sol]) }), DEFAULTS),
    (e: Error) => e instanceof ConfigError && /SOL-USD uses asset SOL/.test(e.message),
  );
});

Deno.test("EngineConfig names each bad variable", async (t) => {
  const cases: [name: string, value: string, says: RegExp][] = [
    ["KALENCY_START_BALANCES", "USD:100", /ASSET=amount pairs/],
    ["KALENCY_START_BALANCES", "USD=-1", /ASSET=amount pairs/],
    ["KALENCY_MARKETS", "[{", /JSON array of markets/],
    ["KALENCY_MARKETS", '[{"symbol":"btc"}]', /MarketSpec/],
    ["KALENCY_MAKER_FEE_BPS", "-1", /./],
    ["KALENCY_ENGINE_PORT", "99999", /./],
    ["KALENCY_SYNTHETIC_MARKETS", "many", /./],
    ["KALENCY_SNAPSHOT_INTERVAL_MS", "0", /./],
    ["KALENCY_ASSETS", "SOL=99", /ASSET=decimals/],
  ];
  for (const [name, value, says] of cases) {
    await t.step(`${name}=${value}`, () => {
      assert.throws(
        () => loadConfig(EngineConfig, { [name]: value }),
        (e: Error) => e instanceof ConfigError && e.message.includes(name) && says.test(e.message),
      );
    });
  }
});

Deno.test("the default caps keep what the engine writes to Redis within a few GB", () => {
  const c = loadConfig(EngineConfig, {});
  // bytes of Redis per message as measured under the simulator's traffic (MEMORY USAGE)
  const streams = c.KALENCY_STREAM_MAXLEN * (650 + 530 + 250 + 130);
  const commands = c.KALENCY_COMMAND_MAXLEN * 360;
  assert.ok(streams <= 500e6, `output streams ${streams / 1e6} MB`);
  assert.ok(commands > 0 && commands <= 2e9, `command stream ${commands / 1e6} MB`);
  // closed orders' records for a day at the bots' rate (16 a second, 470 B each)
  assert.ok(
    c.KALENCY_CLOSED_ORDER_TTL_S * 16 * 470 <= 1e9,
    `closed orders ${c.KALENCY_CLOSED_ORDER_TTL_S} s`,
  );
});
