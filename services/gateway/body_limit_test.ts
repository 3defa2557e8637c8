import assert from "node:assert/strict";
import { readLimitedBody } from "./body_limit.ts";

const chunked = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(new TextEncoder().encode(p));
      c.close();
    },
  });

Deno.test("readLimitedBody() keeps a body within the limit and refuses one past it", async () => {
  const ok = await readLimitedBody(
    new Request("http://x/v1/orders", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: chunked('{"a":', "1}"),
    }),
    10,
  );
  assert.ok(ok instanceof Request);
  assert.equal(await ok.text(), '{"a":1}');
  assert.equal(ok.method, "POST");
  assert.equal(ok.headers.get("x-api-key"), "k");
  assert.equal(
    await readLimitedBody(new Request("http://x/", { method: "POST", body: chunked("123456", "78901") }), 10),
    "too-large",
  );
});

Deno.test("a chunked upload through Deno.serve leaves no warning in the server's output", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./testdata/limited_echo.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const stdout = child.stdout.getReader();
  const { value } = await stdout.read();
  const port = Number(new TextDecoder().decode(value).trim());
  try {
    const echo = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      body: chunked("hello"),
      duplex: "half",
    } as RequestInit);
    assert.equal(await echo.text(), "hello");
    const big = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      body: chunked("0123456789", "abc"),
      duplex: "half",
    } as RequestInit);
    assert.equal(big.status, 413);
    await big.body?.cancel();
  } finally {
    child.kill("SIGTERM");
    stdout.releaseLock();
    await child.stdout.cancel();
  }
  await child.status;
  assert.doesNotMatch(await stderrText, /legacy/);
});
