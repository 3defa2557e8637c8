/**
 * Child processes of the supervisor: start with name-prefixed coloured output, restart on crash with
 * backoff, stop with SIGTERM then SIGKILL after a grace period.
 */

const COLOURS = ["\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[32m", "\x1b[34m", "\x1b[91m", "\x1b[96m"];
const RESET = "\x1b[0m";

export interface ServiceSpec {
  name: string;
  /** Arguments after `deno` (e.g. ["run", "-A", "services/gateway/main.ts"]). */
  args: string[];
  /** Port of its /healthz. */
  port: number;
  /** Env var that sets the port (for the "port in use" message). */
  portVar: string;
}

export interface Supervised {
  spec: ServiceSpec;
  stop(): Promise<void>;
}

function linePrinter(label: string, write: (s: string) => void) {
  let rest = "";
  return (chunk: Uint8Array, decoder: TextDecoder) => {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) if (l.length) write(`${label} ${l}\n`);
  };
}

export interface StartOptions {
  deno: string;
  cwd: string;
  env: Record<string, string>;
  colour: boolean;
  /** Called when a child exits while we are not stopping (after restarts are exhausted too). */
  onGiveUp: (name: string, code: number) => void;
  log: (msg: string) => void;
}

/** Starts one service; restarts it (up to 5 times a minute) when it exits unexpectedly. */
export function supervise(
  spec: ServiceSpec,
  index: number,
  width: number,
  options: StartOptions,
): Supervised {
  const colour = COLOURS[index % COLOURS.length];
  const label = options.colour
    ? `${colour}${spec.name.padEnd(width)} |${RESET}`
    : `${spec.name.padEnd(width)} |`;
  const encoder = new TextEncoder();
  const write = (s: string) => Deno.stdout.writeSync(encoder.encode(s));
  let stopping = false;
  let child: Deno.ChildProcess | undefined;
  let pumps: Promise<unknown>[] = [];
  const restarts: number[] = [];
  let exited: Promise<void> = Promise.resolve();

  function launch() {
    child = new Deno.Command(options.deno, {
      args: spec.args,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const print = linePrinter(label, write);
      const decoder = new TextDecoder();
      for await (const chunk of stream) print(chunk, decoder);
    };
    pumps = [pump(child.stdout).catch(() => {}), pump(child.stderr).catch(() => {})];
    const current = child;
    exited = current.status.then(async (status) => {
      await Promise.all(pumps);
      if (stopping) return;
      const now = Date.now();
      restarts.push(now);
      while (restarts.length && restarts[0] < now - 60_000) restarts.shift();
      if (restarts.length > 5) {
        options.log(`${spec.name} exited with code ${status.code} too often; giving up on it`);
        options.onGiveUp(spec.name, status.code);
        return;
      }
      const delay = Math.min(500 * 2 ** (restarts.length - 1), 8000);
      options.log(`${spec.name} exited with code ${status.code}; restarting in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
      if (!stopping) launch();
    });
  }
  launch();

  return {
    spec,
    async stop() {
      stopping = true;
      const c = child;
      if (!c) return;
      try {
        c.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        options.log(`${spec.name} did not stop within 10 s; killing it`);
        try {
          c.kill("SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      await c.status;
      clearTimeout(timer);
      await exited;
    },
  };
}

/** Polls http://host:port/healthz until it answers 200 or the time is up. */
export async function waitHealthy(
  host: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    try {
      const r = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
      await r.body?.cancel();
      if (r.ok) return true;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
