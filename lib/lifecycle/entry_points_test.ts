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

Deno.test("a service whose Redis does not answer says so, naming REDIS_URL, and stops on the first SIGTERM", async () => {
  const mains: string[] = [];
  for await (const dir of Deno.readDir(new URL("services/", ROOT))) {
    if (dir.isDirectory) mains.push(`services/${dir.name}/main.ts`);
  }
  const { freePort } = await import("@lib/testing");
  await Promise.all(mains.map(async (main) => {
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      REDIS_URL: `redis://127.0.0.1:${freePort()}`,
      LOG_FORMAT: "json",
    };
    for (const v of ["ENGINE", "SIM", "CANDLES", "LEDGER", "GATEWAY"]) {
      env[`KALENCY_${v}_PORT`] = String(freePort());
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main],
      cwd: new URL(".", ROOT).pathname,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let text = "";
    const decoder = new TextDecoder();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) text += decoder.decode(c, { stream: true });
    };
    const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
    const deadline = Date.now() + 20_000;
    while (
      !/cannot reach Redis at REDIS_URL=redis:\/\/127\.0\.0\.1:\d+ yet/.test(text) && Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500)); // several reconnect attempts
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const status = await child.status;
    clearTimeout(timer);
    await pumps;
    assert.match(text, /cannot reach Redis at REDIS_URL=/, `${main} said nothing: ${text}`);
    const errorLines = text.split("\n").filter((l) => /redis (connection )?error/.test(l)).length;
    assert.ok(errorLines <= 1, `${main} logged ${errorLines} reconnect errors, not one every 5 s: ${text}`);
    assert.equal(status.code, 0, `${main} did not stop cleanly on one SIGTERM: ${text.slice(-1500)}`);
  }));
});
