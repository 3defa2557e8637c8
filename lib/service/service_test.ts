import assert from "node:assert/strict";
import { z } from "zod";
import { createShutdown } from "@lib/lifecycle";
import { TEST_REDIS_URL } from "@lib/testing";
import { loadServiceConfig, redisConnector, untilShutdown } from "./mod.ts";

Deno.test("loadServiceConfig() returns the config, or undefined on a bad environment", () => {
  const schema = z.object({ PORT: z.coerce.number().int() });
  assert.deepEqual(loadServiceConfig("svc", schema, { PORT: "80" }), { PORT: 80 });
  const log = console.log;
  const lines: string[] = [];
  console.log = (line: string) => lines.push(line);
  try {
    assert.equal(loadServiceConfig("svc", schema, { PORT: "eighty" }), undefined);
  } finally {
    console.log = log;
  }
  assert.match(lines.join("\n"), /Cannot load configuration.*PORT/);
});

Deno.test("redisConnector() connections are closed by the shutdown", async () => {
  const shutdown = createShutdown({ listen: false });
  const connect = redisConnector(TEST_REDIS_URL, shutdown, { namePrefix: "svc" });
  const redis = await connect("writer");
  assert.equal(await redis.clientGetName(), "svc-writer");
  await shutdown.shutdown();
  assert.equal(redis.isOpen, false);
});

Deno.test("untilShutdown() waits for the loops at shutdown, and fails when they end on their own", async () => {
  const shutdown = createShutdown({ listen: false });
  let loopsDone = false;
  const stop = new Promise<void>((r) => shutdown.signal.addEventListener("abort", () => r()));
  const loops = stop.then(() => new Promise((r) => setTimeout(r, 20))).then(() => loopsDone = true);
  const running = untilShutdown(shutdown, loops);
  await shutdown.shutdown();
  await running;
  assert.equal(loopsDone, true);

  const other = createShutdown({ listen: false });
  await assert.rejects(untilShutdown(other, Promise.resolve()), /the consumer loops ended on their own/);
  await other.shutdown();
});

Deno.test("runMain() exits with the code main returns, and 1 when it throws", async () => {
  const run = async (body: string) => {
    const script = `import { runMain } from "${new URL("./mod.ts", import.meta.url).href}";
      await runMain(async () => { ${body} });`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  assert.equal((await run("return 2;")).code, 2);
  assert.equal((await run("")).code, 0);
  const failed = await run("throw new Error('boom');");
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /boom/);
});

Deno.test("runMain(): a SIGTERM during start-up is a clean stop, even when the start-up then fails", async () => {
  // the start-up waits on a "connection" that the shutdown closes, as a Redis read would
  const script = `import { runMain } from "${new URL("./mod.ts", import.meta.url).href}";
    import { createShutdown } from "${new URL("../lifecycle/mod.ts", import.meta.url).href}";
    await runMain(async () => {
      const shutdown = createShutdown();
      let fail;
      const connection = new Promise((_, reject) => fail = reject);
      shutdown.defer("connection", () => fail(new Error("The client is closed")));
      console.log("starting");
      await connection;
      console.log("started");
      await shutdown.done;
    });`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("starting")) text += new TextDecoder().decode((await reader.read()).value);
  reader.releaseLock();
  child.kill("SIGTERM");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.match(stderr, /stopped while starting \(The client is closed\)/);
});
