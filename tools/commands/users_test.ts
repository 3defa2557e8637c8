import assert from "node:assert/strict";
import { streamKey, STREAMS } from "@lib/contracts";
import { dbFixture, redisFixture } from "@lib/testing";
import { findUser, verifyCredentials } from "@lib/users";
import { jsonLines, spawnEngine, tools } from "../test_util.ts";
import { depositDraft } from "./users.ts";

Deno.test("users create, list and admin work on the users table with the gateway's password hashing", async () => {
  await using db = await dbFixture();
  await using fx = await redisFixture("users");
  const opts = { prefix: fx.prefix, databaseUrl: db.url };
  const created = await tools(["users", "create", "alice", "--password", "correct horse battery"], opts);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^created user alice with id usr_[0-9a-f]{16} \(its wallet opens/);
  const alice = (await findUser(db.sql, { username: "alice" }))!;
  assert.equal(alice.role, "user");
  assert.ok(
    await verifyCredentials(db.sql, "alice", "correct horse battery"),
    "the gateway can log alice in",
  );

  // the engine is asked to open the wallet
  const cmds = await tools(["tail", "orders", "--count", "1", "--json"], opts);
  assert.deepEqual((jsonLines(cmds.stdout)[0].message as Record<string, unknown>).userId, alice.userId);

  // a password from standard input, and an admin
  const bob = await tools(["users", "create", "bob", "--admin", "--json"], {
    ...opts,
    stdin: ["another secret"],
  });
  assert.equal(bob.code, 0, bob.stderr);
  assert.equal(jsonLines(bob.stdout)[0].role, "admin");
  assert.ok(await verifyCredentials(db.sql, "bob", "another secret"));

  const taken = await tools(["users", "create", "ALICE", "--password", "whatever-long"], opts);
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /username "ALICE" is already taken/);
  const short = await tools(["users", "create", "carol", "--password", "short"], opts);
  assert.equal(short.code, 2);
  assert.match(short.stderr, /password must be 8 to 256 characters/);

  const made = await tools(["users", "admin", "alice"], opts);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /alice \(usr_[0-9a-f]+\) is now an admin/);
  assert.equal((await findUser(db.sql, { username: "alice" }))!.role, "admin");
  const none = await tools(["users", "admin", "nobody"], opts);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no user with the name or id "nobody"/);

  const list = await tools(["users", "list"], opts);
  assert.match(list.stdout, /^USER ID +USERNAME +ROLE +CREATED\n/);
  assert.match(list.stdout, /usr_[0-9a-f]{16} +alice +admin +\d{4}-\d\d-\d\d /);
  const rows = jsonLines((await tools(["users", "list", "--json"], opts)).stdout);
  assert.deepEqual(rows.map((r) => r.username), ["alice", "bob"]);
});

Deno.test("depositDraft() validates user, asset and amount", () => {
  assert.deepEqual(depositDraft("usr_1", "usd", "5000"), {
    type: "deposit",
    userId: "usr_1",
    asset: "USD",
    amount: "5000",
  });
  assert.throws(() => depositDraft("usr_1", "USD", "0"), /amount must be a positive decimal/);
  assert.throws(() => depositDraft("usr_1", "USD", "-3"), /amount must be a positive decimal/);
  assert.throws(() => depositDraft("usr 1", "USD", "1"), /user id "usr 1"/);
  assert.throws(() => depositDraft("usr_1", "US$", "1"), /asset "US\$"/);
});

/** A user in a fresh database, made as `users create` makes one. */
async function withUser(fx: { prefix: string }, db: { url: string }, name: string) {
  const opts = { prefix: fx.prefix, databaseUrl: db.url };
  const created = await tools(
    ["users", "create", name, "--password", "correct horse battery", "--json"],
    opts,
  );
  assert.equal(created.code, 0, created.stderr);
  return { opts, userId: String(jsonLines(created.stdout)[0].userId) };
}

Deno.test("users fund refuses a user that does not exist, and queues nothing", async () => {
  await using db = await dbFixture();
  await using fx = await redisFixture("users");
  const r = await tools(["users", "fund", "usr_nobody", "USD", "10"], {
    prefix: fx.prefix,
    databaseUrl: db.url,
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no user with the name or id "usr_nobody"/);
  assert.equal(await fx.redis.xLen(streamKey(fx.prefix, STREAMS.orders)), 0);
});

Deno.test("users fund without a running engine says so after the timeout, and leaves the command queued", async () => {
  await using db = await dbFixture();
  await using fx = await redisFixture("users");
  const { opts } = await withUser(fx, db, "dave");
  const before = await fx.redis.xLen(streamKey(fx.prefix, STREAMS.orders)); // the openAccount
  const r = await tools(["users", "fund", "dave", "USD", "10", "--timeout", "200"], opts);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /did not answer within 200 ms .*stays queued on stream:orders/);
  const queued = await fx.redis.xLen(streamKey(fx.prefix, STREAMS.orders));
  assert.equal(queued, before + 1);
});

Deno.test("users fund sends a deposit to the matching engine and prints the wallet from its reply", async () => {
  await using db = await dbFixture();
  await using fx = await redisFixture("users");
  const { opts, userId } = await withUser(fx, db, "erin");
  const engine = await spawnEngine(fx.prefix);
  try {
    // by name or by id
    const ok = await tools(["users", "fund", "erin", "USD", "5000.5", "--timeout", "20000"], opts);
    assert.equal(ok.code, 0, ok.stderr + engine.output());
    assert.equal(
      ok.stdout.startsWith(`deposited 5000.5 USD to ${userId}; wallet now ${userId}: `),
      true,
      ok.stdout,
    );
    assert.match(ok.stdout, /USD 105000\.5/);
    const byId = await tools(["users", "fund", userId, "USD", "1", "--timeout", "20000"], opts);
    assert.match(byId.stdout, /USD 105001\.5/);
    const rejected = await tools(["users", "fund", "erin", "DOGE", "1", "--json"], opts);
    assert.equal(rejected.code, 1);
    assert.equal(jsonLines(rejected.stdout)[0].reason, "UNKNOWN_ASSET");
    // the tools' reply stream is removed afterwards
    const replyKeys = await fx.redis.keys(`${fx.prefix}:stream:replies:tools-*`);
    assert.deepEqual(replyKeys, []);
  } finally {
    assert.equal(await engine.stop(), 0, engine.output());
  }
});
