import assert from "node:assert/strict";
import type { EngineCommandInput } from "@lib/contracts";
import { EngineCommand } from "@lib/contracts";
import { createEngine, defaultEngineSettings, restoreEngine } from "./engine.ts";
import type { CommandOutput, MatchingEngine } from "./engine_api.ts";

const T0 = 1_764_118_000_000;

/** Applies wire commands (decoded through the contract, as the process does) with ids t0-0, t0-1, ... */
function run(engine: MatchingEngine, commands: EngineCommandInput[], start = 0): CommandOutput[] {
  return commands.map((c, i) =>
    engine.apply(EngineCommand.parse(c), { id: `${T0 + start + i}-0`, ts: T0 + start + i })
  );
}

const flow: EngineCommandInput[] = [
  { type: "openAccount", cmdId: "a", userId: "alice" },
  {
    type: "place",
    cmdId: "p1",
    userId: "alice",
    symbol: "BTC-USD",
    side: "SELL",
    orderType: "LIMIT",
    price: "65000",
    qty: "0.5",
  },
  {
    type: "place",
    cmdId: "p2",
    userId: "bob",
    symbol: "BTC-USD",
    side: "BUY",
    orderType: "LIMIT",
    price: "65001",
    qty: "0.7",
  },
  {
    type: "place",
    cmdId: "p3",
    userId: "carol",
    symbol: "BTC-USD",
    side: "SELL",
    orderType: "MARKET",
    qty: "0.1",
  },
  { type: "cancel", cmdId: "c1", userId: "bob", orderId: "ord-mifab4hs-2" },
  {
    type: "place",
    cmdId: "p4",
    userId: "bob",
    symbol: "ETH-USD",
    side: "BUY",
    orderType: "MARKET",
    quoteQty: "100",
  },
];

Deno.test("createEngine() matches, rests and cancels through wire commands", () => {
  const engine = createEngine(defaultEngineSettings());
  const out = run(engine, flow);
  const p2 = out[2]!;
  assert.equal(p2.reply.ok, true);
  assert.equal(p2.executions.length, 1);
  assert.equal(p2.executions[0]!.price, "65000");
  assert.equal(p2.executions[0]!.qty, "0.5");
  assert.equal(p2.reply.ok && p2.reply.order?.status, "PARTIALLY_FILLED");
  const p3 = out[3]!;
  assert.equal(p3.reply.ok && p3.reply.order?.status, "FILLED");
  assert.equal(out[4]!.reply.ok && out[4]!.reply.order?.status, "CANCELED");
  assert.equal(out[5]!.reply.ok && out[5]!.reply.order?.status, "EXPIRED");
  assert.equal(engine.lastCommandId, `${T0 + 5}-0`);
});

Deno.test("createEngine() gives byte-identical outputs for the same commands", () => {
  const a = run(createEngine(defaultEngineSettings()), flow);
  const b = run(createEngine(defaultEngineSettings()), flow);
  assert.equal(JSON.stringify(a), JSON.stringify(b));
});

Deno.test("restoreEngine() continues exactly like the engine it was taken from", () => {
  const whole = run(createEngine(defaultEngineSettings()), flow);
  const first = createEngine(defaultEngineSettings());
  run(first, flow.slice(0, 3));
  const snap = JSON.parse(JSON.stringify(first.snapshot()));
  const second = restoreEngine(defaultEngineSettings(), snap);
  assert.equal(second.lastCommandId, `${T0 + 2}-0`);
  const rest = run(second, flow.slice(3), 3);
  assert.equal(JSON.stringify(rest), JSON.stringify(whole.slice(3)));
});
