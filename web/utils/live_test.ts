import assert from "node:assert/strict";
import { clock, dayClock, watchMarkets } from "./live.ts";

const MS = Date.UTC(2026, 10, 26, 12, 32, 5); // 2026-11-26 12:32:05 UTC

Deno.test("dayClock() gives the day and the time in the same time zone", async () => {
  assert.equal(dayClock(MS, false), "11-26 12:32:05");
  // in UTC+14 it is already the next day
  const script = `import { dayClock, localDateTime } from "${new URL("./live.ts", import.meta.url).href}";
    console.log(dayClock(${MS}, true) + "|" + localDateTime(${MS}));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: { TZ: "Pacific/Kiritimati" },
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "11-27 02:32:05|2026-11-27 02:32");
});

Deno.test("clock() gives hh:mm:ss, the format of every time the app shows", () => {
  assert.equal(clock(MS, false), "12:32:05");
  assert.match(clock(MS, true), /^\d\d:\d\d:\d\d$/);
});

Deno.test("watchMarkets() polls the listing once for every listener, and stops with the last", async () => {
  const realFetch = globalThis.fetch;
  let calls = 0;
  globalThis.fetch = (input: RequestInfo | URL) => {
    calls++;
    assert.match(String(input instanceof Request ? input.url : input), /\/v1\/markets$/);
    const body = [{
      symbol: "SOL-USD",
      base: "SOL",
      quote: "USD",
      tickSize: "0.01",
      stepSize: "0.001",
      minQty: "0.001",
      minNotional: "0.01",
      status: "TRADING",
    }];
    return Promise.resolve(Response.json(body));
  };
  try {
    const seen: string[][] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    const listen = (m: { symbol: string }[]) => {
      seen.push(m.map((x) => x.symbol));
      if (seen.length === 2) resolve();
    };
    const stopA = watchMarkets("http://gw.test", (m) => listen(m), 200);
    const stopB = watchMarkets("http://gw.test", (m) => listen(m), 200);
    await promise;
    stopA();
    stopB();
    assert.deepEqual(seen.slice(0, 2), [["SOL-USD"], ["SOL-USD"]]);
    assert.equal(calls, 1, "one request for both listeners");
  } finally {
    globalThis.fetch = realFetch;
  }
});
