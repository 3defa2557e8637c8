import assert from "node:assert/strict";
import { dayClock } from "./live.ts";

const MS = Date.UTC(2026, 10, 26, 12, 32, 5); // 2026-11-26 12:32:05 UTC

Deno.test("dayClock() gives the day and the time in the same time zone", async () => {
  assert.equal(dayClock(MS, false), "11-26 12:32:05");
  // in UTC+14 it is already the next day
  const script = `import { dayClock, localDateTime } from "${new URL("./live.ts", import.meta.url).href}";
    console.log(dayClock(${MS}, true) + "|" + localDateTime(${MS}));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: { TZ: "Pacific/Kiritimati" },
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "11-27 02:32:05|2026-11-27 02:32");
});
