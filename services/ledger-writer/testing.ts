/**
 * Test helpers of the ledger writer.
 * @module
 */
import { fromScaled, toScaled } from "@lib/candles";
import type { OrderAck } from "@lib/contracts";
import { sampleOrderAck } from "@lib/testing";

/** A LIMIT BUY of 1 BTC at 65000 by alice, created at 2026-01-01T00:00:00Z, after `filledQty` filled. */
export function sampleAck(
  orderId: string,
  status: OrderAck["status"],
  filledQty: string,
  ts: number,
): OrderAck {
  return sampleOrderAck({
    orderId,
    status,
    filledQty,
    remainingQty: fromScaled(toScaled("1") - toScaled(filledQty)),
    filledQuote: fromScaled(toScaled(filledQty) * 65000n),
    avgPrice: filledQty === "0" ? "0" : "65000",
    createdAt: Date.UTC(2026, 0, 1),
    ts,
  });
}
