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

Deno.test("every main stops with exit 2 and one line naming the variable on a bad setting, no stack trace", async () => {
  const mains = ["web/main.ts"];
  for await (const dir of Deno.readDir(new URL("services/", ROOT))) {
    if (dir.isDirectory) mains.push(`services/${dir.name}/main.ts`);
  }
  for (const main of mains) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main],
      cwd: new URL(".", ROOT).pathname,
      env: { LOG_LEVEL: "loud", LOG_FORMAT: "json" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, `${main}: ${text}`);
    assert.match(text, /LOG_LEVEL=\\"loud\\"/, main);
    assert.doesNotMatch(text, /\n\s+at .*\.ts:\d+/, `${main} printed a stack trace`);
  }
});
