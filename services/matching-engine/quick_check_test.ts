import assert from "node:assert/strict";
import { defaultEngineSettings } from "./engine.ts";
import { EngineCommand } from "@lib/contracts";
import { takeCommands } from "./command_flow.ts";
import { quickCommand } from "./quick_check.ts";

/** Values that break (or stretch) a field in every way the schema cares about. */
const ODD_VALUES: unknown[] = [
  undefined,
  null,
  "",
  " ",
  0,
  1,
  12.5,
  1e21,
  -1,
  true,
  [],
  {},
  "x".repeat(65),
  "x".repeat(81),
  "a b",
  "BTC-USD",
  "btc-usd",
  "BUY",
  "sell",
  "LIMIT",
  "MARKET",
  "GTC",
  "IOC",
  "FOK",
  "NONE",
  "EXPIRE_BOTH",
  "12.5",
  " 12.5",
  "12.5 ",
  "012",
  "1.",
  ".5",
  "1e5",
  "-1",
  "0",
  "u:1@x.y",
  "c-1_2.3:4",
  "ümlaut",
  "replies:gw-1",
];

/** The schema's verdict: the command it gives, or undefined when it refuses. */
function bySchema(json: unknown): unknown {
  const r = EngineCommand.safeParse(json);
  return r.success ? r.data : undefined;
}

/** The quick check either leaves the command to the schema or gives exactly what the schema gives. */
function agrees(json: unknown): void {
  const quick = quickCommand(json);
  if (quick === undefined) return;
  const schema = bySchema(json);
  assert.notEqual(schema, undefined, `the quick check took what the schema refuses: ${JSON.stringify(json)}`);
  assert.deepEqual(quick, schema, JSON.stringify(json));
  assert.deepEqual(Object.keys(quick), Object.keys(schema as object), "same fields, in the same order");
}

Deno.test("quickCommand() gives the schema's result for every place and cancel of a long flow", () => {
  const flow = takeCommands({
    seed: 3,
    users: 50,
    markets: defaultEngineSettings().markets,
    replyTo: "replies:gw-1",
    replyRatio: 0.5,
  }, 5000);
  let quick = 0;
  for (const c of flow) {
    const json = JSON.parse(JSON.stringify(c));
    agrees(json);
    if (quickCommand(json)) quick++;
  }
  // it does take the hot commands (accounts are left to the schema)
  const hot = flow.filter((c) => c.type === "place" || c.type === "cancel").length;
  assert.equal(quick, hot);
});

Deno.test("quickCommand() never takes a command the schema refuses, whichever field is broken", () => {
  const samples: Record<string, unknown>[] = [
    {
      type: "place",
      cmdId: "c1",
      replyTo: "replies:gw-1",
      userId: "u1",
      symbol: "BTC-USD",
      side: "BUY",
      orderType: "LIMIT",
      timeInForce: "IOC",
      postOnly: true,
      stp: "NONE",
      price: "65000.5",
      qty: "0.01",
      clientOrderId: "k-1",
    },
    {
      type: "place",
      cmdId: "c2",
      userId: "u1",
      symbol: "ETH-USD",
      side: "SELL",
      orderType: "MARKET",
      quoteQty: "5",
    },
    { type: "cancel", cmdId: "c3", userId: "u1", orderId: "ord-1-5" },
    { type: "cancel", cmdId: "c4", userId: "u1", symbol: "BTC-USD", clientOrderId: "k-1", replyTo: "r" },
    { type: "cancelAll", cmdId: "c5", userId: "u1", symbol: "BTC-USD" },
  ];
  const fields = [
    "type",
    "cmdId",
    "replyTo",
    "userId",
    "symbol",
    "side",
    "orderType",
    "timeInForce",
    "postOnly",
    "stp",
    "price",
    "qty",
    "quoteQty",
    "clientOrderId",
    "orderId",
    "extra",
  ];
  let tried = 0;
  for (const sample of samples) {
    agrees(sample);
    for (const field of fields) {
      for (const value of ODD_VALUES) {
        const json = { ...sample, [field]: value };
        if (value === undefined) delete json[field];
        agrees(json);
        tried++;
      }
    }
  }
  for (const json of [null, [], "place", 5, { type: "place" }, { type: "nope", cmdId: "x", userId: "u" }]) {
    assert.equal(quickCommand(json), undefined);
  }
  assert.ok(tried > 3000);
});
