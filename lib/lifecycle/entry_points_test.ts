import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

Deno.test("every service's main module imports @lib/lifecycle/early before anything else", async () => {
  const mains = ["web/main.ts"];
  for await (const dir of Deno.readDir(new URL("services/", ROOT))) {
    if (dir.isDirectory) mains.push(`services/${dir.name}/main.ts`);
  }
  assert.ok(mains.length >= 6, mains.join(", "));
  for (const main of mains) {
    const source = await Deno.readTextFile(new URL(main, ROOT));
    const first = source.match(/^import .*$/m)?.[0];
    assert.equal(first, `import "@lib/lifecycle/early";`, `${main} starts with: ${first}`);
  }
});
