import assert from "node:assert/strict";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { encodeEntry } from "@lib/redis";
import { freePort, redisFixture, waitFor } from "@lib/testing";
import { commandFlow } from "./command_flow.ts";
import { defaultEngineSettings } from "./engine.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

function spawn(env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: { LOG_FORMAT: "json", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("main.ts serves /healthz and /metrics, applies commands and stops cleanly on SIGTERM", async () => {
  await using fx = await redisFixture("main");
  const { redis, prefix, url } = fx;
  const port = freePort();
  const child = spawn({ REDIS_URL: url, KALENCY_PREFIX: prefix, KALENCY_ENGINE_PORT: String(port) });
  const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  try {
    const health = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      const body = await res.json();
      return res.status === 200 ? body : undefined;
    }, { timeoutMs: 20_000, what: "/healthz 200" });
    assert.deepEqual(Object.keys(health.checks).sort(), ["lag", "loop", "redis"]);
    assert.equal(health.checks.lag.detail.entriesBehind, 0);

    const order = { symbol: "BTC-USD", orderType: "LIMIT", price: "65000", qty: "0.01" } as const;
    let id = "";
    for (
      const command of [
        { type: "openAccount", cmdId: "m1", userId: "mia" },
        { type: "place", cmdId: "m2", userId: "mia", side: "SELL", ...order },
        { type: "place", cmdId: "m3", userId: "noa", side: "BUY", ...order },
        { type: "deposit", cmdId: "m4", userId: "noa", asset: "XYZ", amount: "1" },
      ] as const
    ) id = await redis.xAdd(streamKey(prefix, STREAMS.orders), "*", encodeEntry(STREAMS.orders, command));
    await waitFor(async () => (await redis.get(keys.checkpoint(prefix))) === id, {
      what: "the commands applied",
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /kalency_engine_commands_total\{type="openAccount"\} 1/);
    assert.match(metrics, /kalency_engine_commands_total\{type="place"\} 2/);
    assert.match(metrics, /kalency_engine_rejections_total\{reason="UNKNOWN_ASSET"\} 1/);
    assert.match(metrics, /kalency_engine_executions_total 1/);
    assert.match(metrics, /kalency_engine_batch_commit_seconds_count [1-4]\n/);
    assert.match(metrics, /kalency_engine_snapshot_age_seconds/);
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  const [stdout, stderr] = await output;
  assert.equal(status.code, 0, stdout + stderr);
  // the final snapshot covers the command
  const manifest = JSON.parse((await redis.get(keys.snapshot(prefix)))!);
  assert.equal(manifest.cursor, await redis.get(keys.checkpoint(prefix)));
});

Deno.test("main.ts refuses a bad configuration, naming the variable", async () => {
  const child = spawn({ KALENCY_START_BALANCES: "USD:100", KALENCY_ENGINE_PORT: String(freePort()) });
  const [status, stdout, stderr] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  assert.equal(status.code, 2);
  assert.match(stdout + stderr, /KALENCY_START_BALANCES/);
});

Deno.test("main.ts stopped by SIGTERM while it recovers exits cleanly, and a later start recovers", async () => {
  await using fx = await redisFixture("main-recovering");
  const { redis, prefix, url } = fx;
  // commands up to the checkpoint but no snapshot: the start replays all of them before it runs
  const settings = defaultEngineSettings();
  const flow = commandFlow({ seed: 3, users: 200, markets: settings.markets });
  const key = streamKey(prefix, STREAMS.orders);
  let last = "";
  for (let b = 0; b < 20; b++) {
    const m = redis.multi();
    for (let i = 0; i < 2500; i++) m.xAdd(key, "*", encodeEntry(STREAMS.orders, flow.next().value!));
    const ids = await m.execAsPipeline() as unknown as string[];
    last = ids[ids.length - 1];
  }
  await redis.set(keys.checkpoint(prefix), last);

  const port = freePort();
  const env = { REDIS_URL: url, KALENCY_PREFIX: prefix, KALENCY_ENGINE_PORT: String(port) };
  const child = spawn(env);
  const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  try {
    const health = await waitFor(async () => {
      try {
        return await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
      } catch {
        return undefined; // not listening yet
      }
    }, { timeoutMs: 20_000, intervalMs: 5, what: "/healthz to answer" });
    assert.match(JSON.stringify(health.checks.loop), /recovering/, "the signal comes during the recovery");
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  const [stdout, stderr] = await output;
  assert.equal(status.code, 0, stdout + stderr);
  assert.match(stdout + stderr, /stopped while recovering/);
  assert.equal(await redis.get(keys.checkpoint(prefix)), last, "nothing was committed");

  // the next start recovers the same commands and runs
  const again = spawn(env);
  const againOutput = Promise.all([new Response(again.stdout).text(), new Response(again.stderr).text()]);
  try {
    await waitFor(async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        await res.body?.cancel();
        return res.status === 200;
      } catch {
        return false; // not listening yet
      }
    }, { timeoutMs: 30_000, what: "/healthz 200 after the recovery" });
  } finally {
    again.kill("SIGTERM");
  }
  const [out2, err2] = await againOutput;
  assert.equal((await again.status).code, 0, out2 + err2);
});
