import assert from "node:assert/strict";
import { dbFixture } from "@lib/testing";
import {
  apiKeySignature,
  canonicalRequest,
  createUser,
  credentialProblems,
  ensureUser,
  findUser,
  listUsers,
  setRole,
  UserError,
  verifyCredentials,
} from "./mod.ts";

const FAST = { memorySize: 1024, iterations: 1 };

Deno.test("createUser() stores an argon2id hash and verifyCredentials() checks it", async () => {
  await using db = await dbFixture();
  const user = await createUser(db.sql, { username: "alice", password: "correct horse" }, FAST);
  assert.match(user.userId, /^usr_[0-9a-f]{16}$/);
  assert.equal(user.role, "user");
  const [row] = await db.sql`SELECT password_hash FROM users WHERE user_id = ${user.userId}`;
  assert.match(String(row.password_hash), /^\$argon2id\$/);
  assert.equal((await verifyCredentials(db.sql, "ALICE", "correct horse"))?.userId, user.userId);
  assert.equal((await verifyCredentials(db.sql, user.userId, "correct horse"))?.userId, user.userId);
  assert.equal(await verifyCredentials(db.sql, "alice", "wrong horse"), undefined);
  assert.equal(await verifyCredentials(db.sql, "nobody", "correct horse"), undefined);
});

Deno.test("createUser() refuses a taken username, case-insensitively, and bad input", async () => {
  await using db = await dbFixture();
  await createUser(db.sql, { username: "bob", password: "password1" }, FAST);
  await assert.rejects(
    createUser(db.sql, { username: "BOB", password: "password1" }, FAST),
    (e) => e instanceof UserError && e.code === "USERNAME_TAKEN",
  );
  await assert.rejects(
    createUser(db.sql, { username: "x", password: "password1" }, FAST),
    (e) => e instanceof UserError && e.code === "INVALID_USERNAME",
  );
  await assert.rejects(
    createUser(db.sql, { username: "carol", password: "short" }, FAST),
    (e) => e instanceof UserError && e.code === "INVALID_PASSWORD",
  );
});

Deno.test("ensureUser() is idempotent and repairs role and password", async () => {
  await using db = await dbFixture();
  const first = await ensureUser(
    db.sql,
    { username: "admin", password: "admin-pass-1", role: "admin" },
    FAST,
  );
  assert.equal(first.created, true);
  const again = await ensureUser(
    db.sql,
    { username: "admin", password: "admin-pass-1", role: "admin" },
    FAST,
  );
  assert.equal(again.created, false);
  assert.equal(again.user.userId, first.user.userId);
  await setRole(db.sql, first.user.userId, "user");
  const repaired = await ensureUser(
    db.sql,
    { username: "admin", password: "admin-pass-2", role: "admin" },
    FAST,
  );
  assert.equal(repaired.user.role, "admin");
  assert.ok(await verifyCredentials(db.sql, "admin", "admin-pass-2"));
  assert.equal((await listUsers(db.sql)).length, 1);
  assert.equal((await findUser(db.sql, { username: "Admin" }))?.role, "admin");
});

Deno.test("ensureUser() taking over a name someone signed up with ends that person's sessions and keys", async () => {
  await using db = await dbFixture();
  const squatter = await createUser(db.sql, { username: "Admin", password: "squatter-pass" }, FAST);
  await db.sql`INSERT INTO refresh_tokens (token_hash, user_id, expires_at)
               VALUES ('h1', ${squatter.userId}, now() + interval '1 day')`;
  await db.sql`INSERT INTO api_keys (key_id, user_id, secret_hash) VALUES ('ak_1', ${squatter.userId}, 'x')`;
  const { user, created } = await ensureUser(
    db.sql,
    { username: "admin", password: "operator-pass", role: "admin" },
    FAST,
  );
  assert.equal(created, false);
  assert.equal(user.role, "admin");
  const live = await db.sql`SELECT 1 FROM refresh_tokens WHERE user_id = ${user.userId} AND revoked_at IS NULL
                            UNION ALL
                            SELECT 1 FROM api_keys WHERE user_id = ${user.userId} AND revoked_at IS NULL`;
  assert.equal(live.length, 0, "the squatter's refresh token and API key must not become an admin's");
  // the configured password already in place: nothing is revoked on a plain restart
  await db.sql`INSERT INTO refresh_tokens (token_hash, user_id, expires_at)
               VALUES ('h2', ${user.userId}, now() + interval '1 day')`;
  await ensureUser(db.sql, { username: "admin", password: "operator-pass", role: "admin" }, FAST);
  const [kept] = await db.sql`SELECT revoked_at FROM refresh_tokens WHERE token_hash = 'h2'`;
  assert.equal(kept.revoked_at, null);
});

Deno.test("apiKeySignature() signs the newline-joined canonical request", async () => {
  const req = { timestamp: 1700000000000, method: "post", path: "/v1/orders", query: "a=1", body: "{}" };
  assert.equal(canonicalRequest(req), "1700000000000\nPOST\n/v1/orders\na=1\n{}");
  const sig = await apiKeySignature("secret", req);
  assert.match(sig, /^[0-9a-f]{64}$/);
  assert.notEqual(sig, await apiKeySignature("secret", { ...req, body: "{ }" }));
});

Deno.test("a username cannot take the shape of a user id, and a login by id finds the id's owner", async () => {
  await using db = await dbFixture();
  const bob = await createUser(db.sql, { username: "bob", password: "bob-secret-1" }, FAST);
  await assert.rejects(
    createUser(db.sql, { username: bob.userId.toUpperCase(), password: "mallory-1234" }, FAST),
    (e) => e instanceof UserError && e.code === "INVALID_USERNAME" && /usr_/.test(e.message),
  );
  // a name of that shape from before the rule must not shadow the id it copies
  await db.sql`INSERT INTO users (user_id, username, password_hash, role)
               VALUES ('usr_00000000000000aa', ${bob.userId.toUpperCase()}, 'x', 'user')`;
  assert.equal((await verifyCredentials(db.sql, bob.userId, "bob-secret-1"))?.userId, bob.userId);
});

Deno.test("credentialProblems() refuses passwords guessing tries first, at sign-up", () => {
  const codes = (username: string, password: string) =>
    credentialProblems(username, password).map((p) => p.code);
  for (const weak of ["12345678", "PASSWORD1", "        ", "aaaaaaaaaa"]) {
    assert.deepEqual(codes("carol", weak), ["INVALID_PASSWORD"], JSON.stringify(weak));
  }
  assert.deepEqual(codes("carol-smith", "Carol-Smith"), ["INVALID_PASSWORD"], "the username itself");
  assert.deepEqual(codes("carol", "correct horse battery"), []);
  assert.deepEqual(codes("usr_1234abcd", "correct horse battery"), ["INVALID_USERNAME"]);
});
