import assert from "node:assert/strict";
import { denoCommand, toolsHint } from "./banner.ts";

Deno.test("toolsHint() carries the settings that differ from the defaults, quoted for the shell", () => {
  assert.equal(toolsHint({}, "tail executions"), "deno task tools tail executions");
  assert.equal(
    toolsHint({
      KALENCY_PREFIX: "kalency:v1",
      REDIS_URL: "redis://127.0.0.1:6379",
      KALENCY_GATEWAY_URL: "http://127.0.0.1:8080",
    }, "streams"),
    "deno task tools streams",
    "defaults need no mention",
  );
  assert.equal(
    toolsHint({
      KALENCY_PREFIX: "paper-2",
      REDIS_URL: "redis://127.0.0.1:6390",
      DATABASE_URL: "postgres://me:secret@127.0.0.1/k'x",
      KALENCY_WEB_PORT: "9000",
      KALENCY_GATEWAY_URL: "http://127.0.0.1:18080",
    }, "tail executions"),
    "KALENCY_PREFIX=paper-2 REDIS_URL=redis://127.0.0.1:6390 DATABASE_URL='postgres://me:***@127.0.0.1/k'\\''x' " +
      "KALENCY_GATEWAY_URL=http://127.0.0.1:18080 deno task tools tail executions",
  );
});

Deno.test("denoCommand() is deno when on PATH, else the path of the Deno that runs up", () => {
  assert.equal(denoCommand("/usr/local/bin/deno", "/usr/local/bin/deno", "/home/me/kalency"), "deno");
  assert.equal(
    denoCommand(undefined, "/home/me/kalency/.tools/deno/node_modules/.bin/deno", "/home/me/kalency"),
    "./.tools/deno/node_modules/.bin/deno",
  );
  assert.equal(denoCommand(undefined, "/opt/deno/bin/deno", "/home/me/kalency"), "/opt/deno/bin/deno");
  assert.equal(
    toolsHint({}, "streams", "./.tools/deno/node_modules/.bin/deno"),
    "./.tools/deno/node_modules/.bin/deno task tools streams",
  );
});
