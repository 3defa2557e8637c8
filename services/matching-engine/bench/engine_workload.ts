/**
 * `deno task bench:engine`: the standard workload through the pure core (wallets, risk checks and
 * event buffers on), checked against the reference result before any speed is reported.
 *
 *   deno task bench:engine [--variant standard|deep] [--runs 5] [--json]
 *
 * Throughput: each run replays the whole stream into a fresh core; ops/s is ops / wall time of the
 * loop, reported as the median of the runs. After each timed loop (outside the timing) the run's
 * trades are hashed and its result checked against the reference too; a run that differs reports
 * no speed, and with --json the line keeps every key with null speeds plus `differences`. Latency: separate runs time every operation with one
 * chained performance.now() per op (the timer's own cost, about 0.1 µs here, is included), and
 * report the median over runs of each run's p50 and p99. The text output also gives ops per second
 * of process CPU time (all threads), which a busy shared machine disturbs less than wall time.
 * @module
 */
import process from "node:process";
import {
  collectOps,
  differences,
  loadWorkload,
  type Ops,
  prepareRun,
  resultLine,
  runOps,
  summarize,
  workloadPath,
} from "./workload_core.ts";

interface Args {
  variants: string[];
  runs: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { variants: ["standard", "deep"], runs: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") args.json = true;
    else if (a === "--variant") args.variants = [argv[++i] ?? ""];
    else if (a === "--runs") args.runs = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}; use --variant standard|deep, --runs N, --json`);
  }
  if (!(args.runs >= 1)) throw new Error("--runs must be at least 1");
  return args;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(sorted: Float32Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function timedRun(ops: Ops, reference: Record<string, unknown>): {
  wallMs: number;
  cpuMs: number;
  diffs: string[];
} {
  const r = prepareRun(ops);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  runOps(r.core, r.market, r.users, ops, r.fills, r.st, 0, ops.count);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  // after the timing: the run's trades hashed and its result checked like the first run's
  const diffs = differences(summarize(r.core, r.market, r.fills, r.st), reference);
  return { wallMs, cpuMs: (c.user + c.system) / 1000, diffs };
}

function latencyRun(ops: Ops): { p50: number; p99: number } {
  const r = prepareRun(ops);
  const lat = new Float32Array(ops.count);
  runOps(r.core, r.market, r.users, ops, r.fills, r.st, 0, ops.count, lat);
  lat.sort();
  return { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
}

async function main(): Promise<number> {
  const args = parseArgs(Deno.args);
  const path = workloadPath(Deno.env.get("KALENCY_BENCH_WORKLOAD"));
  const workload = await loadWorkload(path);
  (globalThis as Record<string, unknown>).__nodeCrypto = await import("node:crypto");
  const expectedFn =
    (workload as unknown as { expected: (o: { variant: string }) => Record<string, unknown> })
      .expected;
  let failed = false;
  for (const variant of args.variants) {
    const ops = collectOps(workload.operations({ variant }));
    const reference = expectedFn({ variant });
    // Correctness first: a run whose result differs from the reference reports no speed.
    const check = prepareRun(ops);
    runOps(check.core, check.market, check.users, ops, check.fills, check.st, 0, ops.count);
    const diffs = differences(summarize(check.core, check.market, check.fills, check.st), reference);
    const mismatch = (found: string[]) => {
      failed = true;
      // deno-lint-ignore no-console
      console.log(
        args.json
          ? JSON.stringify(resultLine(variant, ops.count, found))
          : `${variant}: DIFFERS from the reference:\n  ${found.join("\n  ")}`,
      );
    };
    if (diffs.length > 0) {
      mismatch(diffs);
      continue;
    }
    const times: number[] = [];
    const cpuTimes: number[] = [];
    let timedDiffs: string[] = [];
    for (let i = 0; i < args.runs && timedDiffs.length === 0; i++) {
      const t = timedRun(ops, reference);
      times.push(t.wallMs);
      cpuTimes.push(t.cpuMs);
      timedDiffs = t.diffs.map((d) => `timed run ${i + 1}: ${d}`);
    }
    if (timedDiffs.length > 0) {
      mismatch(timedDiffs);
      continue;
    }
    const p50s: number[] = [];
    const p99s: number[] = [];
    for (let i = 0; i < args.runs; i++) {
      const l = latencyRun(ops);
      p50s.push(l.p50);
      p99s.push(l.p99);
    }
    const opsPerSec = Math.round(ops.count / (median(times) / 1000));
    const result = resultLine(variant, ops.count, [], {
      opsPerSec,
      p50Us: Number(median(p50s).toFixed(3)),
      p99Us: Number(median(p99s).toFixed(3)),
    });
    if (args.json) {
      // deno-lint-ignore no-console
      console.log(JSON.stringify(result));
    } else {
      const runs = times.map((t) => Math.round(ops.count / (t / 1000)).toLocaleString("en-US")).join(", ");
      const cpu = Math.round(ops.count / (median(cpuTimes) / 1000)).toLocaleString("en-US");
      // deno-lint-ignore no-console
      console.log(
        `${variant}: ${opsPerSec.toLocaleString("en-US")} ops/s (median of ${args.runs}: ${runs}; ` +
          `${cpu} per CPU second), p50 ${result.p50Us} µs, p99 ${result.p99Us} µs per op; matches the reference`,
      );
    }
  }
  return failed ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    // deno-lint-ignore no-console
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(2);
  }
}
