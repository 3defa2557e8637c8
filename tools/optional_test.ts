import assert from "node:assert/strict";
import { runCli } from "./cli.ts";
import { type Command, NotAvailableError } from "./command.ts";
import { importOptional } from "./optional.ts";

Deno.test("importOptional() says a missing module or export is not available yet", async () => {
  await assert.rejects(
    () => importOptional("tools/no_such_module.ts", ["run"]),
    (e) =>
      e instanceof NotAvailableError &&
      /tools\/no_such_module\.ts is not in this checkout yet/.test(e.message),
  );
  await assert.rejects(
    () => importOptional("tools/format.ts", ["formatClock", "noSuchExport"]),
    (e) => e instanceof NotAvailableError && /does not export noSuchExport yet/.test(e.message),
  );
  const mod = await importOptional<{ formatClock: (ms: number, utc: boolean) => string }>("tools/format.ts", [
    "formatClock",
  ]);
  assert.equal(mod.formatClock(0, true), "00:00:00.000");
});

Deno.test("a command whose module is missing exits 2 with a not-available message", async () => {
  const pending: Command = {
    name: "pending",
    summary: "relies on a module that is not written yet",
    usage: ["pending"],
    options: {},
    run: async () => {
      await importOptional("tools/no_such_module.ts", ["run"]);
      return 0;
    },
  };
  let stderr = "";
  const code = await runCli(["pending"], {
    writers: { stdout: () => {}, stderr: (t) => stderr += t },
    env: () => undefined,
    isTty: false,
    signal: new AbortController().signal,
    readLine: () => Promise.resolve(undefined),
    now: () => Date.now(),
  }, [pending]);
  assert.equal(code, 2);
  assert.equal(
    stderr,
    "deno task tools pending: not available yet: tools/no_such_module.ts is not in this checkout yet\n",
  );
});
