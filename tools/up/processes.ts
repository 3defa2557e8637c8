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
  /**
   * From now on an exit is not restarted. Shutdown calls it for every child first: a Ctrl-C reaches
   * all of them at once, and those stopped later must not be restarted meanwhile.
   */
  halt(): void;
  /** Halts, sends SIGTERM, and SIGKILL after 10 s; resolves once the child is gone. */
  stop(): Promise<void>;
  /** Halts and sends SIGKILL at once (a forced quit). */
  kill(): void;
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
  /**
   * Called when a child exits more than five times in a minute. It is still restarted, every 30 s,
   * since what stops it (a port another program holds for a while, a database being restarted) may
   * go away; while the system starts, the caller fails instead.
   */
  onRepeatedFailure: (name: string, code: number) => void;
  log: (msg: string) => void;
}

/** Most exits in a minute that are restarted at once (with backoff); after that, every 30 s. */
const FAST_RESTARTS_PER_MINUTE = 5;

/**
 * The wait before restarting a child that exited for the `exits`-th time within a minute: 0.5 s
 * doubling to 8 s, then 30 s for as long as it keeps failing. Never "give up": a service that
 * cannot start now (its port held by another connection, its database restarting) often can later.
 */
export function restartDelay(exits: number): number {
  if (exits > FAST_RESTARTS_PER_MINUTE) return 30_000;
  return Math.min(500 * 2 ** (Math.max(1, exits) - 1), 8000);
}

/** Starts one service; restarts it when it exits unexpectedly (see {@linkcode restartDelay}). */
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
  let cancelWait: (() => void) | undefined;
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
      const delay = restartDelay(restarts.length);
      if (restarts.length > FAST_RESTARTS_PER_MINUTE) {
        options.log(
          `${spec.name} keeps failing (${restarts.length} exits within a minute, the last with code ${status.code}; ` +
            `see its log above); trying again every ${delay / 1000} s`,
        );
        options.onRepeatedFailure(spec.name, status.code);
      } else options.log(`${spec.name} exited with code ${status.code}; restarting in ${delay} ms`);
      // a halt ends the wait at once: a stop must not sit out a 30 s restart delay
      await new Promise<void>((r) => {
        const timer = setTimeout(r, delay);
        cancelWait = () => {
          clearTimeout(timer);
          r();
        };
      });
      cancelWait = undefined;
      if (!stopping) launch();
    });
  }
  launch();

  return {
    spec,
    halt() {
      stopping = true;
      cancelWait?.();
    },
    kill() {
      stopping = true;
      cancelWait?.();
      try {
        child?.kill("SIGKILL");
      } catch { /* already gone */ }
    },
    async stop() {
      stopping = true;
      cancelWait?.();
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
