import assert from "node:assert/strict";
import { connectDb } from "@lib/db";
import { connectRedis } from "@lib/redis";
import { createCleanup, processCpuSeconds, TEST_DATABASE_URL, TEST_REDIS_URL } from "./mod.ts";

const SCRIPT = new URL("./testdata/cleanup_script.ts", import.meta.url).pathname;

interface Created {
  prefixes: string[];
  database: string;
  pid: number;
}

/** Runs the script; after its first line, sends `signal` (if any) to it alone. */
async function runScript(mode: string, signal?: Deno.Signal): Promise<{ code: number; created: Created }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, mode],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    text += value;
  }
  const created: Created = JSON.parse(text.slice(0, text.indexOf("\n")));
  if (signal) {
    // it holds everything now; the child is still running
    assert.equal(await processCpuSeconds(created.pid, "sleep") !== undefined, true, "the child runs");
    child.kill(signal);
  }
  while (!(await lines.read()).done) { /* drain */ }
  const { code } = await child.status;
  return { code, created };
}

async function assertGone(created: Created): Promise<void> {
  const redis = await connectRedis(TEST_REDIS_URL);
  const admin = connectDb(TEST_DATABASE_URL, { max: 1 });
  try {
    for (const prefix of created.prefixes) {
      let cursor = "0";
      do {
        const r = await redis.scan(cursor, { MATCH: `${prefix}:*`, COUNT: 10_000 });
        assert.deepEqual(r.keys, [], `no key left under ${prefix}`);
        cursor = String(r.cursor);
      } while (cursor !== "0");
    }
    const dbs = await admin`SELECT 1 FROM pg_database WHERE datname = ${created.database}`;
    assert.equal(dbs.length, 0, "the database is dropped");
    assert.equal(await processCpuSeconds(created.pid, "sleep"), undefined, "the child is gone");
  } finally {
    await redis.close();
    await admin.end({ timeout: 5 });
  }
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`withCleanup(): on ${signal} the prefix, database and child are removed, exit ${code}`, async () => {
    const r = await runScript("wait", signal);
    assert.equal(r.code, code);
    await assertGone(r.created);
  });
}

Deno.test("withCleanup(): a normal end and an error clean up too", async () => {
  const ok = await runScript("end");
  assert.equal(ok.code, 0);
  await assertGone(ok.created);
  const failed = await runScript("throw");
  assert.equal(failed.code, 1);
  await assertGone(failed.created);
});

Deno.test("createCleanup(): last registered runs first, each once; a cleanup run early is forgotten", async () => {
  const lines: string[] = [];
  const ran: string[] = [];
  const cleanup = createCleanup({ log: (l) => lines.push(l), timeoutMs: 200 });
  cleanup.add("a", () => ran.push("a"));
  const b = cleanup.add("b", () => ran.push("b"));
  cleanup.add("failing", () => {
    throw new Error("boom");
  });
  cleanup.add("c", () => {
    ran.push("c");
    // added while cleaning up: runs too
    cleanup.add("late", () => ran.push("late"));
  });
  cleanup.add("hangs", () => new Promise(() => {}));
  await b();
  await b();
  assert.deepEqual(ran, ["b"]);
  await cleanup.runAll();
  assert.deepEqual(ran, ["b", "c", "late", "a"]);
  assert.equal(lines.length, 2);
  assert.match(lines[0], /hangs failed: timed out/);
  assert.match(lines[1], /failing failed: boom/);
  await cleanup.runAll();
  assert.deepEqual(ran, ["b", "c", "late", "a"], "nothing runs twice");
});

Deno.test("createCleanup(): after a signal, what is registered is cleaned up at once and add() throws", async () => {
  const ran: string[] = [];
  const cleanup = createCleanup();
  cleanup.add("first", () => ran.push("first"));
  cleanup.abort("SIGINT");
  const all = cleanup.runAll();
  assert.throws(() => cleanup.add("late", () => ran.push("late")), /stopping \(SIGINT\): late/);
  await all;
  await cleanup.runAll();
  assert.deepEqual(ran.sort(), ["first", "late"]);
  const sleeper = new Deno.Command("sleep", { args: ["600"] }).spawn();
  assert.throws(() => cleanup.child("sleep", sleeper));
  assert.equal((await sleeper.status).signal, "SIGTERM");
});

Deno.test("createCleanup(): a child that exits by itself is forgotten; one still running is stopped", async () => {
  const cleanup = createCleanup();
  const quick = cleanup.child("true", new Deno.Command("true").spawn());
  await quick.status;
  const slow = cleanup.child("sleep", new Deno.Command("sleep", { args: ["600"] }).spawn());
  await cleanup.runAll();
  const status = await slow.status;
  assert.equal(status.signal, "SIGTERM");
});
