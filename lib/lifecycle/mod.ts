/**
 * Process lifecycle: SIGINT, SIGTERM and SIGHUP start one orderly shutdown (stop accepting, drain,
 * close), and the process exits 0 when it is done. SIGHUP is there because a closed terminal sends
 * it to the whole foreground process group: without a listener it ends a service at once. A second
 * signal while shutting down exits at once, unless it comes within REPEAT_SIGNAL_MS of the
 * shutdown's start (the same Ctrl-C, delivered twice).
 * @module
 */

const SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

export interface Shutdown {
  /** Aborted when a shutdown starts; pass it to loops and servers. */
  readonly signal: AbortSignal;
  /** Registers a closer; closers run in reverse order of registration (last opened, first closed). */
  defer(name: string, close: () => unknown | Promise<unknown>): void;
  /** Starts the shutdown (also what a signal does). Resolves when every closer has run. */
  shutdown(reason?: string): Promise<void>;
  /** Resolves once the shutdown has finished. */
  readonly done: Promise<void>;
}

export interface ShutdownOptions {
  /** Listen for SIGINT/SIGTERM/SIGHUP (default true). Tests pass false. */
  listen?: boolean;
  /** Give up on a closer after this many ms (default 10_000). */
  closeTimeoutMs?: number;
  onClose?: (name: string, error?: unknown) => void;
}

/**
 * Signals held since `holdEarlySignals`, until the process's shutdown takes over. Deno's default
 * action for SIGINT/SIGTERM/SIGHUP ends the process at once (exit 130/143) with nothing closed.
 */
let held: Map<Deno.Signal, () => void> | undefined;
let heldSignal: Deno.Signal | undefined;

/**
 * Holds SIGINT/SIGTERM/SIGHUP from now until `createShutdown` runs, which then shuts down as if the
 * signal had come just after it. A service's main module imports `@lib/lifecycle/early` first for
 * this: loading the rest of its modules takes a few hundred milliseconds, and a signal in that time
 * would otherwise end it with 143 instead of a clean stop.
 */
export function holdEarlySignals(): void {
  if (held) return;
  held = new Map();
  for (const s of SIGNALS) {
    const listener = () => void (heldSignal ??= s);
    held.set(s, listener);
    Deno.addSignalListener(s, listener);
  }
}

/** Stops holding signals; returns the one that came meanwhile, if any. */
function releaseEarlySignals(): Deno.Signal | undefined {
  if (!held) return undefined;
  for (const [s, listener] of held) Deno.removeSignalListener(s, listener);
  held = undefined;
  const s = heldSignal;
  heldSignal = undefined;
  return s;
}

/** The shutdown a SIGINT/SIGTERM/SIGHUP started in this process, if one did. */
let signalled: Shutdown | undefined;

/**
 * The shutdown a signal started, if any. A start-up step that fails because that shutdown closed
 * its connections is a clean stop, not an error (see `runMain` in @lib/service).
 */
export function stoppedBySignal(): Shutdown | undefined {
  return signalled;
}

/** A signal within this many ms of the shutdown's start repeats the one that started it. */
export const REPEAT_SIGNAL_MS = 2000;

/** Creates the one shutdown controller of a process. */
export function createShutdown(options: ShutdownOptions = {}): Shutdown {
  const controller = new AbortController();
  const closers: { name: string; close: () => unknown }[] = [];
  let running: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => resolveDone = r);
  const timeout = options.closeTimeoutMs ?? 10_000;

  async function runClosers() {
    for (const { name, close } of closers.reverse()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(close),
          new Promise((_, reject) =>
            timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms`)), timeout)
          ),
        ]);
        options.onClose?.(name);
      } catch (error) {
        options.onClose?.(name, error);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  let startedAt = 0;
  const onSignal = () => {
    if (running) {
      // A Ctrl-C reaches every process of the terminal's group, and a supervisor passes its own
      // SIGTERM on too: a second signal soon after the first is that same request. A later one
      // means the user wants out now.
      if (performance.now() - startedAt > REPEAT_SIGNAL_MS) Deno.exit(130);
      return;
    }
    signalled = self;
    void self.shutdown("signal");
  };
  const self: Shutdown = {
    signal: controller.signal,
    done,
    defer(name, close) {
      closers.push({ name, close });
    },
    shutdown(reason) {
      if (!running) {
        startedAt = performance.now();
        controller.abort(reason ?? "shutdown");
        running = runClosers().finally(() => {
          if (options.listen !== false) { for (const s of SIGNALS) Deno.removeSignalListener(s, onSignal); }
          resolveDone();
        });
      }
      return running;
    },
  };
  if (options.listen !== false) {
    for (const s of SIGNALS) Deno.addSignalListener(s, onSignal);
    // a signal held while the program loaded counts as one that comes right now
    if (releaseEarlySignals()) setTimeout(onSignal, 0);
  }
  return self;
}

/** Waits `ms`, or less when `signal` aborts first (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Waits for `p` at most `ms`, ignoring whether it fails (a health probe must answer even when a
 * dependency does not).
 */
export function withinMs(ms: number, p: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p.then(() => {}, () => {}), new Promise<void>((r) => timer = setTimeout(r, ms))])
    .finally(() => clearTimeout(timer));
}

/** Runs `fn`, then waits `ms`, again and again until `signal` aborts. `fn` handles its own errors. */
export async function repeatUntilAborted(
  ms: number,
  signal: AbortSignal,
  fn: () => Promise<unknown>,
): Promise<void> {
  while (!signal.aborted) {
    await fn();
    await sleep(ms, signal);
  }
}
