import assert from "node:assert/strict";
import { TEST_REDIS_URL } from "@lib/testing";
import { COMMANDS } from "./cli.ts";
import { tools } from "./test_util.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("tools --help lists every command", async () => {
  const r = await tools(["--help"]);
  assert.equal(r.code, 0);
  for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`\\n  ${c.name} +${c.summary.slice(0, 10)}`));
});

Deno.test("every command answers --help with its usage and options", async (t) => {
  for (const c of COMMANDS) {
    await t.step(c.name, async () => {
      const r = await tools([c.name, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^deno task tools ${c.name}: `));
      assert.match(r.stdout, /Usage:/);
      for (const name of Object.keys(c.options)) assert.match(r.stdout, new RegExp(`--${name}\\b`));
      assert.match(r.stdout, /--prefix PREFIX/);
      const viaHelp = await tools(["help", c.name]);
      assert.equal(viaHelp.stdout, r.stdout);
    });
  }
});

Deno.test("an unknown command or option is one line on stderr and exit status 2", async () => {
  const cmd = await tools(["frobnicate"]);
  assert.equal(cmd.code, 2);
  assert.equal(cmd.stdout, "");
  assert.equal(cmd.stderr.trim().split("\n").length, 1);
  assert.match(cmd.stderr, /unknown command "frobnicate"; commands: tail, streams/);

  const opt = await tools(["streams", "--frobnicate"]);
  assert.equal(opt.code, 2);
  assert.match(
    opt.stderr,
    /^deno task tools streams: unknown option --frobnicate \(see deno task tools streams --help\)\n$/,
  );

  const missing = await tools(["tail", "executions", "--count"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /option --count needs a value/);

  const negative = await tools(["tail", "executions", "--count", "-5"]);
  assert.equal(negative.code, 2);
  assert.match(negative.stderr, /--count must be a whole number/);
  // a negative number as an argument reaches the command's own check
  const negativeArg = await tools(["users", "fund", "someone", "USD", "-5"]);
  assert.equal(negativeArg.code, 2);
  assert.match(negativeArg.stderr, /amount must be a positive decimal number .*got "-5"/);

  const bad = await tools(["tail", "executions", "--count", "x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--count must be a whole number/);

  const prefix = await tools(["streams", "--prefix", "bad prefix!"]);
  assert.equal(prefix.code, 2);
  assert.match(prefix.stderr, /--prefix must be/);
});

Deno.test("no command prints the overview and exits 2", async () => {
  const r = await tools([]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /Commands:/);
});

Deno.test("global options may come before the command", async () => {
  const r = await tools(["--prefix", "kt:nothing-here", "--json", "streams"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), {
    kind: "engine",
    checkpoint: null,
    lastCommandId: null,
    behind: 0,
    capped: false,
    behindMs: 0,
  });
});

Deno.test("the CLI as a process: --help exits 0, an unknown command exits 2", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tools/cli.ts", ...args],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /Commands:/);
  const unknown = await run(["nope"]);
  assert.equal(unknown.code, 2);
  assert.match(new TextDecoder().decode(unknown.stderr), /unknown command "nope"/);
});

Deno.test("colours: on a terminal by default, forced with --color, off with --no-color, NO_COLOR or --json", async () => {
  const { runCli } = await import("./cli.ts");
  const run = async (argv: string[], isTty: boolean, env: Record<string, string> = {}) => {
    let out = "";
    await runCli(argv, {
      writers: { stdout: (t) => out += t, stderr: () => {} },
      env: (n) => (n === "REDIS_URL" ? TEST_REDIS_URL : env[n]),
      isTty,
      signal: new AbortController().signal,
      readLine: () => Promise.resolve(undefined),
      now: () => Date.now(),
    });
    return out.includes("\x1b[");
  };
  const args = ["streams", "--prefix", "kt:colour-none"];
  assert.equal(await run(args, true), true);
  assert.equal(await run(args, false), false);
  assert.equal(await run([...args, "--color"], false), true);
  assert.equal(await run([...args, "--no-color"], true), false);
  assert.equal(await run(args, true, { NO_COLOR: "1" }), false);
  assert.equal(await run([...args, "--json"], true), false);
});

Deno.test("verify and sim-report name the store they cannot reach", async () => {
  const noRedis = await tools(["verify", "--redis-url", "redis://127.0.0.1:1"]);
  assert.equal(noRedis.code, 1);
  assert.match(noRedis.stderr, /cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/);
  const noDb = await tools([
    "sim-report",
    "--symbol",
    "BTC-USD",
    "--prefix",
    "kt:nothing-here",
    "--database-url",
    "postgres://postgres@127.0.0.1:1/kalency",
  ]);
  assert.equal(noDb.code, 1);
  assert.match(noDb.stderr, /cannot use PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/kalency/);
});
