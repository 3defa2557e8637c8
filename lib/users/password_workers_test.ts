import assert from "node:assert/strict";
import { hashPassword, IN_THREAD, PasswordWorkers, verifyPassword } from "./mod.ts";

const CHEAP = { memorySize: 1024, iterations: 1 };

Deno.test("PasswordWorkers hash and verify as the calling thread does, several at once", async () => {
  await using workers = new PasswordWorkers(2);
  const [a, b, c] = await Promise.all([
    workers.hash("first password", CHEAP),
    workers.hash("second password", CHEAP),
    workers.hash("third password"),
  ]);
  assert.match(a, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  assert.match(c, /^\$argon2id\$v=19\$m=12288,t=3,p=1\$/, "the default cost");
  // a worker's hash checks in this thread and the other way round
  assert.equal(await verifyPassword("second password", b), true);
  assert.equal(await workers.verify("first password", await hashPassword("first password", CHEAP)), true);
  assert.deepEqual(
    await Promise.all([
      workers.verify("first password", a),
      workers.verify("wrong", a),
      workers.verify("x", "junk"),
    ]),
    [true, false, false],
  );
});

Deno.test("PasswordWorkers refuse work once closed, and fail what was still waiting", async () => {
  const workers = new PasswordWorkers(1);
  const waiting = workers.hash("a password", CHEAP);
  await workers.close();
  await assert.rejects(waiting, /closed/);
  await assert.rejects(workers.verify("a", "b"), /closed/);
});

Deno.test("IN_THREAD is the same hashing without workers", async () => {
  assert.equal(await IN_THREAD.verify("pw-12345", await IN_THREAD.hash("pw-12345", CHEAP)), true);
});
