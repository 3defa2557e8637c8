import { DEFAULT_MARKETS } from "@lib/contracts";

/** BTC-USD as the gateway lists it by default, for tests that need one market without a gateway. */
export const TEST_MARKET = DEFAULT_MARKETS.find((m) => m.symbol === "BTC-USD")!;
