import assert from "node:assert/strict";
import { freePort } from "@lib/testing";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

/** Spawns web/main.ts, sends SIGTERM once its output contains `when`, and returns its exit and output. */
async function stopWhen(when: string, env: Record<string, string>): Promise<{ code: number; text: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: { KALENCY_WEB_PORT: String(await freePort()), KALENCY_GATEWAY_URL: "http://127.0.0.1:9", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let text = "";
  const reading = (async () => {
    for await (const chunk of child.stdout) text += decoder.decode(chunk);
  })();
  const errors = new Response(child.stderr).text();
  // a process that does not stop is killed, and the test fails on its exit code
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    while (!text.includes(when)) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    const { code } = await child.status;
    await reading;
    return { code, text: text + (await errors) };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("web/main.ts stopped while it builds its islands exits 0 without starting to listen", async () => {
  const assetsDir = await Deno.makeTempDir();
  try {
    const { code, text } = await stopWhen("building them now", { KALENCY_WEB_ASSETS_DIR: assetsDir });
    assert.equal(code, 0, text);
    assert.match(text, /web stopped/);
    assert.doesNotMatch(text, /web listening/);
  } finally {
    await Deno.remove(assetsDir, { recursive: true });
  }
});

Deno.test("web/main.ts refuses a bad LOG_FORMAT, naming it, as every service does", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      KALENCY_WEB_PORT: String(await freePort()),
      KALENCY_GATEWAY_URL: "http://127.0.0.1:9",
      LOG_FORMAT: "xml",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // a web server that took the value would start and keep running: stop it, and fail on its exit code
  const timer = setTimeout(() => child.kill("SIGTERM"), 15_000);
  try {
    const { code, stdout, stderr } = await child.output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 2, text);
    assert.match(text, /LOG_FORMAT=\\?"xml\\?"/);
  } finally {
    clearTimeout(timer);
  }
});
