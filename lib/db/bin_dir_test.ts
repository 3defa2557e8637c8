import assert from "node:assert/strict";
import { debianPostgresBinDir } from "./mod.ts";

Deno.test("debianPostgresBinDir() picks the newest version that has initdb and pg_ctl", () => {
  const root = Deno.makeTempDirSync();
  try {
    assert.equal(debianPostgresBinDir(root), undefined);
    for (
      const [v, files] of [["9.6", ["initdb", "pg_ctl"]], ["15", ["initdb", "pg_ctl"]], ["17", [
        "psql",
      ]]] as const
    ) {
      Deno.mkdirSync(`${root}/${v}/bin`, { recursive: true });
      for (const f of files) Deno.writeTextFileSync(`${root}/${v}/bin/${f}`, "");
    }
    Deno.mkdirSync(`${root}/notes`);
    assert.equal(debianPostgresBinDir(root), `${root}/15/bin`);
    assert.equal(debianPostgresBinDir(`${root}/missing`), undefined);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
