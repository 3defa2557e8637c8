/**
 * For cleanup_test.ts: creates a Redis prefix with keys, a database and a child process under
 * `withCleanup`, prints them as one JSON line, then (by its argument) waits for a signal, ends
 * normally or throws.
 */
import { dbFixture, deletePrefixOnCleanup, redisFixture, uniquePrefix, withCleanup } from "../mod.ts";

const mode = Deno.args[0] ?? "wait";
await withCleanup(async (cleanup) => {
  const fx = await redisFixture("cleanup", { cleanup });
  for (let i = 0; i < 100; i++) await fx.redis.set(`${fx.prefix}:k${i}`, "1");
  const other = uniquePrefix("cleanup");
  deletePrefixOnCleanup(cleanup, other);
  for (let i = 0; i < 100; i++) await fx.redis.set(`${other}:k${i}`, "1");
  const db = await dbFixture({ cleanup });
  const child = cleanup.child("sleep", new Deno.Command("sleep", { args: ["600"] }).spawn());
  console.log(JSON.stringify({ prefixes: [fx.prefix, other], database: db.name, pid: child.pid }));
  if (mode === "throw") throw new Error("failed on purpose");
  if (mode === "wait") await new Promise((r) => setTimeout(r, 600_000));
});
