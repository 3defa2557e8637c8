import assert from "node:assert/strict";
import type { Sql } from "@lib/db";
import type { RedisClient } from "@lib/redis";
import { ApiKeyService } from "./api_keys.ts";
import { ApiError } from "./errors.ts";

/** A database that knows no key and counts the lookups it is asked. */
function emptyDatabase(): { sql: Sql; lookups: () => number } {
  let lookups = 0;
  const sql = (() => {
    lookups++;
    return Promise.resolve([]);
  }) as unknown as Sql;
  return { sql, lookups: () => lookups };
}

function service(sql: Sql): ApiKeyService {
  return new ApiKeyService(sql, {} as RedisClient, {
    serverKey: "a-server-key-of-some-length",
    cacheMs: 5000,
    recvWindowMs: 5000,
    prefix: "test",
  });
}

const refused = (e: unknown) => e instanceof ApiError && e.status === 401 && e.code === "INVALID_API_KEY";

Deno.test("a key id no key can have is refused without a lookup or a cache entry", async () => {
  const db = emptyDatabase();
  const keys = service(db.sql);
  for (const keyId of ["ak_" + "x".repeat(4000), "ak_0123456789ABCDEF", "ak_0123", "ak_\u0000"]) {
    await assert.rejects(keys.verifySecret(keyId, "secret"), refused, keyId.slice(0, 20));
  }
  assert.equal(db.lookups(), 0);
  assert.equal(keys.cachedLookups, 0);
  // a well-formed unknown id is looked up once, then answered from the cache
  await assert.rejects(keys.verifySecret("ak_0123456789abcdef", "secret"), refused);
  await assert.rejects(keys.verifySecret("ak_0123456789abcdef", "secret"), refused);
  assert.equal(db.lookups(), 1);
});

Deno.test("the key cache stays bounded however many unknown ids are tried", async () => {
  const keys = service(emptyDatabase().sql);
  for (let i = 0; i < 25_000; i++) {
    const keyId = "ak_" + i.toString(16).padStart(16, "0");
    await assert.rejects(keys.verifySecret(keyId, "secret"), refused);
  }
  assert.ok(keys.cachedLookups <= 10_000, `${keys.cachedLookups} lookups cached`);
});
