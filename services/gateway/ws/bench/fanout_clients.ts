/**
 * The client side of the fan-out benchmark, run as its own process so its CPU is not the server's.
 *
 *   deno run -A fanout_clients.ts <ws url> <clients> <seconds> <channels,comma,separated>
 *
 * Connects the clients, subscribes each to the channels, prints READY, waits for GO on stdin, skips
 * one second of warm-up, counts what arrives for <seconds>, prints one JSON line and exits. The line
 * gives the counting window (epoch ms, for the server to measure what it offered over the same
 * window) and the latency samples as a histogram, for the server to combine every process's.
 * Messages are counted by their `"channel":"` marker (a frame may batch several); one frame in 32 is
 * parsed to sample the latency of trades (receive time - trade ts).
 */
import process from "node:process";
import { addSamples } from "./fanout_stats.ts";

const [url, clientsArg, secondsArg, channelsArg] = Deno.args;
const clients = Number(clientsArg);
const seconds = Number(secondsArg);
const channels = channelsArg.split(",");
const MARKER = '"channel":"';

let counting = false;
let messages = 0;
let frames = 0;
let bytes = 0;
let closed = 0;
const latencies: number[] = [];

function sample(text: string): void {
  const parsed = JSON.parse(text);
  const now = Date.now();
  for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
    if (m.type === "trade") latencies.push(now - m.data.ts);
  }
}

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let pending = channels.length;
    ws.onopen = () => ws.send(JSON.stringify({ op: "subscribe", channels }));
    ws.onerror = (e) => reject(new Error((e as ErrorEvent).message));
    ws.onclose = () => closed++;
    ws.onmessage = (e) => {
      const text = e.data as string;
      if (!counting) {
        if (pending > 0 && text.includes('"type":"subscribed"') && --pending === 0) resolve(ws);
        return;
      }
      frames++;
      bytes += text.length;
      for (let i = text.indexOf(MARKER); i !== -1; i = text.indexOf(MARKER, i + MARKER.length)) messages++;
      if ((frames & 31) === 0) sample(text);
    };
  });
}

const sockets: WebSocket[] = [];
for (let i = 0; i < clients; i += 50) {
  const batch = await Promise.all(Array.from({ length: Math.min(50, clients - i) }, open));
  sockets.push(...batch);
}
console.log("READY");

const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
let input = "";
while (!input.includes("GO")) {
  const { value, done } = await reader.read();
  if (done) break;
  input += value;
}
await new Promise((r) => setTimeout(r, 1000));
counting = true;
const windowStart = Date.now();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await new Promise((r) => setTimeout(r, seconds * 1000));
counting = false;
const windowEnd = Date.now();
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);

latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null;
console.log(JSON.stringify({
  clients,
  seconds: elapsed,
  windowStart,
  windowEnd,
  messages,
  frames,
  bytes,
  messagesPerSec: Math.round(messages / elapsed),
  framesPerSec: Math.round(frames / elapsed),
  latencyMs: { p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1) ?? null, samples: latencies.length },
  latencyHistogram: addSamples({}, latencies),
  closedDuringRun: closed,
  cpuPct: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100),
}));
for (const ws of sockets) ws.close();
await new Promise((r) => setTimeout(r, 200));
Deno.exit(0);
