import assert from "node:assert/strict";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { encodeEntry } from "@lib/redis";
import { freePort, redisFixture, waitFor } from "@lib/testing";

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

    const id = await redis.xAdd(
      streamKey(prefix, STREAMS.orders),
      "*",
      encodeEntry(STREAMS.orders, { type: "openAccount", cmdId: "m1", userId: "mia" }),
    );
    await waitFor(async () => (await redis.get(keys.checkpoint(prefix))) === id, {
      what: "the command applied",
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /kalency_engine_commands_total\{type="openAccount"\} 1/);
    assert.match(metrics, /kalency_engine_batch_commit_seconds_count 1/);
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
