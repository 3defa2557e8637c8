import assert from "node:assert/strict";
import { createLogger, errorText, LogThrottle } from "./mod.ts";

Deno.test("createLogger() writes one JSON line per event with the service and fields", () => {
  const lines: string[] = [];
  const log = createLogger("gateway", { pretty: false, write: (l) => lines.push(l) }).child({ gw: "g1" });
  log.info("started", { port: 8080 });
  log.debug("hidden");
  log.error("failed", { err: new Error("boom") });
  assert.equal(lines.length, 2);
  const a = JSON.parse(lines[0]);
  assert.equal(a.level, "info");
  assert.equal(a.service, "gateway");
  assert.equal(a.msg, "started");
  assert.equal(a.port, 8080);
  assert.equal(a.gw, "g1");
  assert.equal(JSON.parse(lines[1]).err.message, "boom");
});

Deno.test("pretty output is one readable coloured line", () => {
  const lines: string[] = [];
  createLogger("x", { pretty: true, level: "debug", write: (l) => lines.push(l) }).warn("slow", { ms: 12 });
  assert.ok(lines[0].includes("\x1b[33mwarn"), lines[0]);
  assert.match(lines[0], /warn .*slow .*ms=.*12/);
});

Deno.test("errorText() says something for errors without a message", () => {
  assert.equal(errorText(new Error("boom")), "boom");
  assert.equal(errorText("plain"), "plain");
  class SocketClosedUnexpectedlyError extends Error {}
  assert.equal(errorText(new SocketClosedUnexpectedlyError()), "SocketClosedUnexpectedlyError");
  const aborted = new DOMException("", "AbortError");
  assert.equal(errorText(aborted), "AbortError (20)");
  const wrapped = new Error("", { cause: new Error("connect ECONNREFUSED 127.0.0.1:6390") });
  assert.equal(errorText(wrapped), "Error caused by: connect ECONNREFUSED 127.0.0.1:6390");
  const lines: string[] = [];
  createLogger("t", { pretty: false, write: (l) => lines.push(l) }).warn("x", { error: new TypeError() });
  assert.equal(JSON.parse(lines[0]).error.message, "TypeError");
});

Deno.test("LogThrottle lets one line a key through per interval and counts the rest", () => {
  let t = 0;
  const th = new LogThrottle(1000, () => t);
  assert.equal(th.allow("redis"), 0);
  assert.equal(th.allow("redis"), undefined);
  assert.equal(th.allow("redis"), undefined);
  assert.equal(th.allow("postgres"), 0, "keys are apart");
  t = 1500;
  assert.equal(th.allow("redis"), 2, "the next line says how many were kept back");
});
