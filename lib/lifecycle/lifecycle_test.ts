import assert from "node:assert/strict";
import { createShutdown, repeatUntilAborted, sleep, withinMs } from "./mod.ts";

Deno.test("createShutdown() aborts, then runs closers in reverse order, once", async () => {
  const order: string[] = [];
  const s = createShutdown({ listen: false });
  s.defer("redis", () => order.push("redis"));
  s.defer("server", async () => {
    await new Promise((r) => setTimeout(r, 10));
    order.push("server");
  });
  assert.equal(s.signal.aborted, false);
  const a = s.shutdown("test");
  const b = s.shutdown("again");
  assert.equal(s.signal.aborted, true);
  await Promise.all([a, b, s.done]);
  assert.deepEqual(order, ["server", "redis"]);
});

Deno.test("a failing or hanging closer does not stop the others", async () => {
  const seen: [string, boolean][] = [];
  const s = createShutdown({ listen: false, closeTimeoutMs: 30, onClose: (n, e) => seen.push([n, !e]) });
  s.defer("last", () => {});
  s.defer("hangs", () => new Promise(() => {}));
  s.defer("throws", () => {
    throw new Error("boom");
  });
  await s.shutdown();
  assert.deepEqual(seen, [["throws", false], ["hangs", false], ["last", true]]);
});

/**
 * Runs `script`, sends SIGTERM once it printed `marker` (then the other `signals`, 30 ms apart), and
 * returns its exit code and output.
 */
async function sigtermWhenPrinted(
  script: string,
  marker: string,
  signals: Deno.Signal[] = [],
  first: Deno.Signal = "SIGTERM",
): Promise<{ code: number; text: string }> {
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped" }).spawn();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(marker)) text += decoder.decode((await reader.read()).value);
  child.kill(first);
  for (const s of signals) {
    await new Promise((r) => setTimeout(r, 30));
    child.kill(s);
  }
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  return { code: (await child.status).code, text };
}

for (const [signal, why] of [["SIGTERM", ""], ["SIGHUP", " (its terminal closed)"]] as const) {
  Deno.test(`a real ${signal}${why} makes a service exit 0 after its closers ran`, async () => {
    const script = `
      import { createShutdown } from "${new URL("./mod.ts", import.meta.url).href}";
      const s = createShutdown();
      s.defer("x", () => console.log("closed"));
      console.log("ready");
      await s.done;
      Deno.exit(0);
    `;
    const { code, text } = await sigtermWhenPrinted(script, "ready", [], signal);
    assert.equal(code, 0);
    assert.match(text, /closed/);
  });
}

Deno.test("a signal repeated right after the first (a Ctrl-C delivered twice) still stops cleanly", async () => {
  const script = `
    import { createShutdown } from "${new URL("./mod.ts", import.meta.url).href}";
    const s = createShutdown();
    s.defer("slow", () => new Promise((r) => setTimeout(r, 300)).then(() => console.log("closed")));
    console.log("ready");
    await s.done;
    Deno.exit(0);
  `;
  const { code, text } = await sigtermWhenPrinted(script, "ready", ["SIGINT"]);
  assert.equal(code, 0, "not the forced exit 130");
  assert.match(text, /closed/);
});

Deno.test("a SIGTERM while the program still loads is held, then stops it cleanly (exit 0)", async () => {
  // the pause stands for loading the rest of a service's modules, before createShutdown runs
  const script = `
    import "${new URL("./early.ts", import.meta.url).href}";
    import { createShutdown } from "${new URL("./mod.ts", import.meta.url).href}";
    console.log("loading");
    await new Promise((r) => setTimeout(r, 400));
    const s = createShutdown();
    s.defer("x", () => console.log("closed"));
    await s.done;
    console.log("stopped");
    Deno.exit(0);
  `;
  const { code, text } = await sigtermWhenPrinted(script, "loading");
  assert.equal(code, 0, text);
  assert.match(text, /closed\nstopped/);
});

Deno.test("sleep() waits, and ends early when its signal aborts", async () => {
  const t0 = performance.now();
  await sleep(20);
  assert.ok(performance.now() - t0 >= 15);
  const stop = new AbortController();
  const t1 = performance.now();
  const waiting = sleep(60_000, stop.signal);
  stop.abort();
  await waiting;
  assert.ok(performance.now() - t1 < 1000);
  await sleep(60_000, stop.signal); // already aborted: at once
});

Deno.test("withinMs() resolves with the promise, on its failure, or after the time", async () => {
  await withinMs(1000, Promise.resolve(1));
  await withinMs(1000, Promise.reject(new Error("ignored")));
  let settle!: () => void;
  const never = new Promise<void>((r) => settle = r);
  const t0 = performance.now();
  await withinMs(20, never);
  assert.ok(performance.now() - t0 < 1000);
  settle();
});

Deno.test("repeatUntilAborted() runs the function, then pauses, until aborted", async () => {
  const stop = new AbortController();
  let runs = 0;
  await repeatUntilAborted(5, stop.signal, () => {
    if (++runs === 3) stop.abort();
    return Promise.resolve();
  });
  assert.equal(runs, 3);
});
