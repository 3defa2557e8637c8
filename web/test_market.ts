/** BTC-USD as the gateway lists it, for tests that need one market without a gateway. */
export const TEST_MARKET = {
  symbol: "BTC-USD",
  base: "BTC",
  quote: "USD",
  tickSize: "0.01",
  stepSize: "0.0001",
  minQty: "0.0001",
  minNotional: "1",
  status: "TRADING",
};
