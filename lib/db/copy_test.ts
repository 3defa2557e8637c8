import assert from "node:assert/strict";
import { dbFixture } from "@lib/testing";
import { copyField, copyText, CopyWriter, UNIQUE_VIOLATION } from "./mod.ts";

Deno.test("copyField() escapes what COPY's text format gives a meaning to", () => {
  assert.equal(copyField(null), "\\N");
  assert.equal(copyField(42), "42");
  assert.equal(copyField("plain"), "plain");
  assert.equal(copyField("a\tb\nc\rd\\e"), "a\\tb\\nc\\rd\\\\e");
  assert.equal(copyField("\\N"), "\\\\N", "the text \\N is not a null");
  assert.equal(
    copyText([{ a: "x", b: null }, { a: "y\t", b: 2 }], ["b", "a"]),
    "\\N\tx\n2\ty\\t\n",
  );
});

Deno.test("CopyWriter copies odd text exactly, reports a refusal with its SQLSTATE and stays usable", async () => {
  await using db = await dbFixture();
  await db.sql`CREATE TABLE copy_probe (k text PRIMARY KEY, v text, n numeric)`;
  const copy = new CopyWriter(db.url);
  try {
    const rows = [
      { k: "tab\there", v: "back\\slash", n: "1.5" },
      { k: "lines\r\n", v: null, n: "0.000000000000000001" },
      { k: "\\N", v: "ünïcödé 🚀", n: "12345678901234567890" },
    ];
    assert.equal(await copy.copy("copy_probe", ["k", "v", "n"], copyText(rows, ["k", "v", "n"])), 3);
    const stored = await db.sql<{ k: string; v: string | null; n: string }[]>`
      SELECT k, v, n::text FROM copy_probe`;
    const byKey = (a: { k: string }, b: { k: string }) => a.k < b.k ? -1 : 1;
    assert.deepEqual([...stored].sort(byKey), [...rows].sort(byKey));

    // one stored key in the batch: nothing of it is written, and the error says why
    const again = [{ k: "new", v: "x", n: "1" }, rows[0]];
    await assert.rejects(
      () => copy.copy("copy_probe", ["k", "v", "n"], copyText(again, ["k", "v", "n"])),
      (e: { code?: string }) => e.code === UNIQUE_VIOLATION,
    );
    assert.equal((await db.sql`SELECT 1 FROM copy_probe WHERE k = 'new'`).length, 0);

    // the server ends the connection: the next COPY fails or reconnects, and the one after works
    await db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = ${db.name} AND pid <> pg_backend_pid()`;
    const next = [{ k: "after-restart", v: "y", n: "2" }];
    const text = copyText(next, ["k", "v", "n"]);
    const n = await copy.copy("copy_probe", ["k", "v", "n"], text)
      .catch(() => copy.copy("copy_probe", ["k", "v", "n"], text));
    assert.equal(n, 1);
  } finally {
    await copy.close();
  }
  await assert.rejects(() => copy.copy("copy_probe", ["k"], "z\n"), /closed/);
});
