/**
 * CPU profiles of a running Deno process through its V8 inspector (`deno run --inspect=host:port`),
 * and a text summary of one: self time by function and by source file. The benchmark runner uses it
 * with `--profile DIR` to see where the gateway's CPU per request goes.
 *
 *   deno run -A services/gateway/bench/profile.ts summary FILE.cpuprofile [--top 40]
 * @module
 */
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The Chrome DevTools `.cpuprofile` format. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Connects to the inspector on `port` and starts sampling; `stop()` returns the profile. */
export async function startProfile(
  port: number,
  intervalUs = 200,
): Promise<{ stop(): Promise<CpuProfile> }> {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let next = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data as string) as { id?: number; result?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result);
  };
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: intervalUs });
  await call("Profiler.start");
  return {
    async stop() {
      const r = await call("Profiler.stop") as { profile: CpuProfile };
      const closed = new Promise((resolve) => ws.onclose = resolve);
      ws.close();
      await closed;
      return r.profile;
    },
  };
}

function shortUrl(url: string): string {
  const i = url.indexOf("/services/");
  if (i >= 0) return url.slice(i + 1);
  const lib = url.indexOf("/lib/");
  if (lib >= 0 && !url.includes("node_modules")) return url.slice(lib + 1);
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length).replace(/^\.deno\/[^/]+\/node_modules\//, "");
  return url || "(native)";
}

/** Self time per function and per file, in percent of the samples, as text. */
export function summarize(profile: CpuProfile, top = 40): string {
  const label = (f: CallFrame) =>
    `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ""}`;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<number, number>();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const total = profile.samples.length;
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, n] of counts) {
    const f = byId.get(id)!.callFrame;
    const file = shortUrl(f.url);
    const fn = label(f);
    fns.set(fn, (fns.get(fn) ?? 0) + n);
    files.set(file, (files.get(file) ?? 0) + n);
  }
  // inclusive: each sample counts once for every distinct function on its stack
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, n] of counts) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      seen.add(label(byId.get(at)!.callFrame));
    }
    for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + n);
  }
  const pct = (n: number) => `${(100 * n / total).toFixed(1).padStart(5)}%`;
  const lines = [`${total} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`];
  lines.push("", "self time by function:");
  for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${pct(v)}  ${k}`);
  lines.push("", "total time (self + callees) by function:");
  for (const [k, v] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top * 2)) {
    lines.push(`${pct(v)}  ${k}`);
  }
  lines.push("", "self time by file:");
  for (const [k, v] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${pct(v)}  ${k}`);
  return lines.join("\n");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { top: { type: "string", default: "40" } },
  });
  if (positionals[0] !== "summary" || !positionals[1]) {
    console.error("usage: profile.ts summary FILE.cpuprofile [--top N]");
    Deno.exit(2);
  }
  const profile = JSON.parse(await Deno.readTextFile(positionals[1])) as CpuProfile;
  console.log(summarize(profile, Number(values.top)));
}
