import assert from "node:assert/strict";
import { keys } from "@lib/contracts";
import { dbFixture, redisFixture } from "@lib/testing";
import { createStyle, stripAnsi } from "../format.ts";
import { jsonLines, tools } from "../test_util.ts";
import { colourVerify } from "./verify.ts";

Deno.test("verify refuses an unknown prefix, passes on a consistent (empty) system and exits 1 naming a wallet that has no postings", async () => {
  await using fx = await redisFixture("verify");
  await using db = await dbFixture();
  const opts = { prefix: fx.prefix, databaseUrl: db.url };
  // a prefix the engine never wrote under is refused, not compared with nothing
  const none = await tools(["verify"], opts);
  assert.equal(none.code, 1);
  assert.match(
    none.stderr,
    /no matching-engine state under the prefix ".*" .*check --prefix or KALENCY_PREFIX/,
  );
  const replay = await tools(["replay"], opts);
  assert.equal(replay.code, 1);
  assert.match(replay.stderr, /no matching-engine state under the prefix/);
  await fx.redis.set(keys.checkpoint(fx.prefix), "0-1");
  const ok = await tools(["verify"], opts);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^verify .* everything matches\n/);
  const [report] = jsonLines((await tools(["verify", "--json"], opts)).stdout);
  assert.equal(report.kind, "verify");
  assert.equal(report.ok, true);

  await fx.redis.hSet(
    keys.wallets(fx.prefix),
    "mallory",
    JSON.stringify({
      userId: "mallory",
      balances: [{ asset: "USD", free: "5", locked: "0" }],
      updatedAt: 1,
    }),
  );
  const bad = await tools(["verify"], opts);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /DIFFERENCES FOUND/);
  assert.match(bad.stdout, /FAIL balances/);
  assert.match(bad.stdout, /mallory/);
});

Deno.test("colourVerify() marks the verdict and failing checks", () => {
  const text = "verify p at t: DIFFERENCES FOUND\n  ok   trades x\n  FAIL balances y: 1 differ";
  const lines = colourVerify(text, createStyle(true));
  assert.ok(lines[0].startsWith("\x1b[31m"));
  assert.equal(lines[1], "  ok   trades x");
  assert.ok(lines[2].startsWith("\x1b[31m"));
  assert.deepEqual(colourVerify(text, createStyle(false)).map(stripAnsi), text.split("\n"));
});
