/**
 * Where the engine loop's CPU goes, without Redis: the same commands as `redis_throughput.ts` go
 * through intake (decode), `engine.apply`, `takeChanges`, `BatchBuilder.build` and the RESP encoding
 * of the transaction, batch by batch, each step timed on its own. Reports µs per command per step,
 * and the Redis writes and bytes per command.
 *
 *   deno run -A services/matching-engine/bench/loop_sections.ts [--commands 200000] [--batch 500] [--runs 3]
 * @module
 */
import { parseArgs } from "node:util";
import { encodeEntry, RespEncoder } from "@lib/redis";
import { STREAMS } from "@lib/contracts";
import { commandFlow } from "../command_flow.ts";
import { createEngine, defaultEngineSettings } from "../engine.ts";
import type { CommandOutput } from "../engine_api.ts";
import { intake } from "../intake.ts";
import { BatchBuilder } from "../outputs.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    commands: { type: "string", default: "200000" },
    batch: { type: "string", default: "500" },
    runs: { type: "string", default: "3" },
    users: { type: "string", default: "1000" },
    "reply-ratio": { type: "string", default: "0.1" },
    seed: { type: "string", default: "7" },
  },
});
const N = Number(args.commands);
const BATCH = Number(args.batch);
const RUNS = Number(args.runs);

// deno-lint-ignore no-console
const out = (line: string) => console.log(line);

const settings = defaultEngineSettings();
const flow = commandFlow({
  seed: Number(args.seed),
  users: Number(args.users),
  markets: settings.markets,
  replyTo: "replies:bench",
  replyRatio: Number(args["reply-ratio"]),
});
const entries = Array.from({ length: N }, (_, i) => ({
  id: `${1_764_118_000_000 + Math.floor(i / 100)}-${i % 100}`,
  message: encodeEntry(STREAMS.orders, flow.next().value!),
}));

const STEPS = ["decode", "apply", "takeChanges", "build", "encode"] as const;
const results: Record<string, number[]> = Object.fromEntries(STEPS.map((s) => [s, []]));
let writes = 0;
let bytes = 0;
for (let run = 1; run <= RUNS; run++) {
  const engine = createEngine(settings);
  const builder = new BatchBuilder({
    prefix: "bench",
    streamMaxLen: 1_000_000,
    replyMaxLen: 10_000,
    closedOrderTtlSeconds: 7 * 86400,
  });
  const enc = new RespEncoder();
  const t = { decode: 0, apply: 0, takeChanges: 0, build: 0, encode: 0 };
  writes = 0;
  bytes = 0;
  for (let b = 0; b < N; b += BATCH) {
    const slice = entries.slice(b, b + BATCH);
    let t0 = performance.now();
    const decoded = slice.map((e) => intake("bench", e));
    let t1 = performance.now();
    t.decode += t1 - t0;
    const outputs: CommandOutput[] = [];
    const created = new Set<string>();
    for (const r of decoded) {
      if (!r.ok) continue;
      const o = engine.apply(r.command, r.meta);
      outputs.push(o);
      if (r.command.type === "place" && o.reply.ok && o.reply.order && !o.reply.duplicate) {
        created.add(o.reply.order.orderId);
      }
    }
    t0 = performance.now();
    t.apply += t0 - t1;
    const changes = engine.takeChanges();
    t1 = performance.now();
    t.takeChanges += t1 - t0;
    const cmds = builder.build({
      outputs,
      dead: [],
      changes,
      checkpoint: slice[slice.length - 1].id,
      createdOrderIds: created,
    });
    t0 = performance.now();
    t.build += t0 - t1;
    enc.reset();
    enc.command(["MULTI"]);
    for (const c of cmds) enc.command(c);
    enc.command(["EXEC"]);
    bytes += enc.bytes.length;
    t1 = performance.now();
    t.encode += t1 - t0;
    writes += cmds.length;
  }
  const line = STEPS.map((s) => `${s} ${(t[s] * 1000 / N).toFixed(2)}`).join(", ");
  const total = STEPS.reduce((a, s) => a + t[s], 0);
  out(
    `run ${run}: µs per command: ${line}; total ${(total * 1000 / N).toFixed(2)} (${
      Math.round(N / total * 1000)
    } commands/s)`,
  );
  for (const s of STEPS) results[s].push(t[s] * 1000 / N);
}
const median = (l: number[]) => [...l].sort((a, b) => a - b)[Math.floor(l.length / 2)];
out(`median µs per command: ${STEPS.map((s) => `${s} ${median(results[s]).toFixed(2)}`).join(", ")}`);
out(`per command: ${(writes / N).toFixed(2)} Redis writes, ${(bytes / N).toFixed(0)} bytes of RESP`);
