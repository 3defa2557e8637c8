import assert from "node:assert/strict";
import { Registry } from "@lib/metrics";
import { healthResponse, lagReasons, opsHandler, runHealthChecks, serveOps } from "./mod.ts";

Deno.test("runHealthChecks() is ok only when every check passes, and reports why not", async () => {
  const ok = await runHealthChecks("svc", {
    redis: () => Promise.resolve(),
    lag: () => Promise.resolve({ behind: 3 }),
  });
  assert.equal(ok.status, "ok");
  assert.deepEqual(ok.checks.lag, { ok: true, detail: { behind: 3 } });
  const bad = await runHealthChecks("svc", {
    redis: () => Promise.reject(new Error("connection refused")),
    slow: () => new Promise((r) => setTimeout(r, 500)),
  }, 50);
  assert.equal(bad.status, "unavailable");
  assert.equal(bad.checks.redis.error, "connection refused");
  assert.match(bad.checks.slow.error!, /no answer within 50 ms/);
  await new Promise((r) => setTimeout(r, 500));
});

Deno.test("opsHandler() serves /healthz, /metrics and a problem+json 404", async () => {
  const registry = new Registry();
  registry.counter("things_total", "Things").inc();
  let healthy = true;
  const handler = opsHandler("svc", registry, {
    dep: () => healthy ? Promise.resolve() : Promise.reject(new Error("down")),
  });
  let res = await handler(new Request("http://x/healthz"));
  assert.equal(res.status, 200);
  assert.equal((await res.json()).status, "ok");
  healthy = false;
  res = await handler(new Request("http://x/healthz"));
  assert.equal(res.status, 503);
  assert.equal((await res.json()).checks.dep.error, "down");
  res = await handler(new Request("http://x/metrics"));
  assert.match(res.headers.get("content-type")!, /text\/plain; version=0.0.4/);
  assert.match(await res.text(), /kalency_things_total 1/);
  res = await handler(new Request("http://x/nope"));
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal((await res.json()).code, "NOT_FOUND");
});

Deno.test("healthResponse() is unavailable (503) when down, degraded (200) with reasons, else ok", async () => {
  const down = healthResponse("svc", ["redis: refused"], ["x: 9 entries behind"], { lag: {} });
  assert.equal(down.status, 503);
  assert.deepEqual(await down.json(), {
    status: "unavailable",
    service: "svc",
    reasons: ["redis: refused", "x: 9 entries behind"],
    lag: {},
  });
  const degraded = healthResponse("svc", [], ["slow"], {});
  assert.equal(degraded.status, 200);
  assert.equal((await degraded.json()).status, "degraded");
  assert.equal((await healthResponse("svc", [], [], {}).json()).status, "ok");
});

Deno.test("lagReasons() names each stream above the limit", () => {
  assert.deepEqual(lagReasons({ a: { lag: 5 }, b: { lag: 50 } }, 10), ["b: 50 entries behind"]);
});

Deno.test("serveOps() names the port and its variable when the port is taken", () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (blocker.addr as Deno.NetAddr).port;
  try {
    assert.throws(
      () =>
        serveOps(
          { hostname: "127.0.0.1", port, portVar: "KALENCY_LEDGER_PORT" },
          () => Promise.resolve(new Response()),
        ),
      new RegExp(`port ${port} is already in use: .* or set KALENCY_LEDGER_PORT to another port`),
    );
  } finally {
    blocker.close();
  }
});
