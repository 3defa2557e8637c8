/**
 * How long the event loop stops while passwords are checked: the longest gap between the ticks of
 * a 1 ms timer while 8 logins' argon2id checks run at once, in the calling thread (IN_THREAD) and
 * in two workers (PasswordWorkers, as the gateway runs them). Median of `--runs` rounds each.
 *
 *   deno run -A lib/users/bench/login_stall.ts [--runs 5] [--logins 8]
 * @module
 */
import { parseArgs } from "node:util";
import { hashPassword, IN_THREAD, type PasswordHasher, PasswordWorkers } from "../mod.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" }, logins: { type: "string", default: "8" } },
});
const RUNS = Number(args.runs);
const LOGINS = Number(args.logins);

// deno-lint-ignore no-console
const out = (line: string) => console.log(line);

/** The longest event-loop gap (ms) and the wall time (ms) of `LOGINS` checks at once. */
async function round(hasher: PasswordHasher, encoded: string): Promise<{ stall: number; wall: number }> {
  let last = performance.now();
  let stall = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: LOGINS }, () => hasher.verify("a password of someone", encoded)));
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(timer);
  return { stall, wall };
}

const median = (l: number[]) => [...l].sort((a, b) => a - b)[Math.floor(l.length / 2)];
const encoded = await hashPassword("a password of someone");
await using workers = new PasswordWorkers(2);
await workers.verify("warm-up", encoded); // starts the workers and their WebAssembly
await workers.verify("warm-up", encoded);
const results: Record<string, { stall: number[]; wall: number[] }> = {
  "in the calling thread": { stall: [], wall: [] },
  "in 2 workers": { stall: [], wall: [] },
};
for (let r = 0; r < RUNS; r++) {
  for (const [name, hasher] of [["in the calling thread", IN_THREAD], ["in 2 workers", workers]] as const) {
    const x = await round(hasher, encoded);
    results[name].stall.push(x.stall);
    results[name].wall.push(x.wall);
  }
}
out(`${LOGINS} argon2id checks at once, median of ${RUNS} rounds:`);
for (const [name, r] of Object.entries(results)) {
  out(
    `  ${name.padEnd(22)} longest event-loop stall ${median(r.stall).toFixed(1)} ms, all done in ${
      median(r.wall).toFixed(0)
    } ms`,
  );
}
