import assert from "node:assert/strict";
import { NotAvailableError } from "./command.ts";
import { importOptional } from "./optional.ts";
import { tools } from "./test_util.ts";

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
  let verifyExists = true;
  try {
    Deno.statSync(new URL("./verify.ts", import.meta.url));
  } catch {
    verifyExists = false;
  }
  if (verifyExists) return; // the real command is tested in verify_test.ts
  const r = await tools(["verify"]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^deno task tools verify: not available yet: tools\/verify\.ts is not in this checkout yet\n$/,
  );
});
