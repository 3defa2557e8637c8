/**
 * Cleanup for benchmarks and other scripts that create throwaway resources (a Redis prefix, a
 * database, child processes). Each resource's cleanup is registered as it is created; they run, last
 * registered first, when the script ends normally, when it fails, and on SIGINT/SIGTERM, after which
 * the process exits 130/143. Without this a Ctrl-C ends a Deno script at once and no `finally` runs.
 *
 * ```ts
 * await withCleanup(async (cleanup) => {
 *   const redis = await connectRedis(url);
 *   cleanup.add("redis connection", () => redis.close());
 *   cleanup.add("redis prefix", () => deletePrefix(redis, prefix));
 *   cleanup.child("server", new Deno.Command("redis-server").spawn());
 *   // ...
 * });
 * ```
 * @module
 */

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
type CleanupSignal = typeof SIGNALS[number];

/** The exit code of a process ended by `signal` (128 + its number), as shells report it. */
export const SIGNAL_EXIT_CODE: Record<CleanupSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** A signal within this many ms of the first is the same request (a Ctrl-C reaches a whole group). */
const REPEAT_SIGNAL_MS = 2000;

export interface Cleanup {
  /** Aborted when SIGINT or SIGTERM arrives. */
  readonly signal: AbortSignal;
  /**
   * Registers `fn`. Returns a function that runs it now (once; later calls and the final cleanup skip
   * it) and forgets it, for a resource whose life ends before the script's. After a signal, `fn`
   * runs at once and `add` throws, so the script creates nothing more while it is cleaned up.
   */
  add(name: string, fn: () => unknown): () => Promise<void>;
  /**
   * Registers a child process: on cleanup it gets SIGTERM (SIGKILL if it is still there after
   * `killAfterMs`, default 10 s) and is waited for. Forgotten once it exits by itself.
   */
  child<C extends Deno.ChildProcess>(name: string, child: C, killAfterMs?: number): C;
  /** Runs every registered cleanup now, last registered first; a cleanup added meanwhile runs too. */
  runAll(): Promise<void>;
}

export interface CleanupOptions {
  /** Give up on one cleanup after this many ms (default 30,000). */
  timeoutMs?: number;
  /** Where progress and failures are written (default: stderr). */
  log?: (line: string) => void;
}

/** A {@linkcode Cleanup} that does not listen for signals (see {@linkcode withCleanup}). */
export function createCleanup(options: CleanupOptions = {}): Cleanup & { abort(reason: string): void } {
  const log = options.log ?? ((line: string) => console.error(line));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const controller = new AbortController();
  const pending = new Map<number, { name: string; run: () => Promise<void> }>();
  let nextId = 0;
  let running: Promise<void> | undefined;

  async function guarded(name: string, fn: () => unknown): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(fn),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      log(`cleanup of ${name} failed: ${e instanceof Error ? e.message : e}`);
    } finally {
      clearTimeout(timer);
    }
  }

  const self = {
    signal: controller.signal,
    abort(reason: string) {
      controller.abort(reason);
    },
    add(name: string, fn: () => unknown): () => Promise<void> {
      const id = nextId++;
      let once: Promise<void> | undefined;
      const run = () => once ??= (pending.delete(id), guarded(name, fn));
      pending.set(id, { name, run });
      if (controller.signal.aborted) {
        void self.runAll();
        throw new Error(`stopping (${controller.signal.reason}): ${name} is cleaned up at once`);
      }
      return run;
    },
    child<C extends Deno.ChildProcess>(name: string, child: C, killAfterMs = 10_000): C {
      let exited = false;
      const forget = self.add(name, async () => {
        if (exited) return;
        try {
          child.kill("SIGTERM");
        } catch { /* gone already */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* gone already */ }
        }, killAfterMs);
        try {
          await child.status;
        } finally {
          clearTimeout(timer);
        }
      });
      child.status.then(() => {
        exited = true;
        void forget();
      }, () => {});
      return child;
    },
    runAll(): Promise<void> {
      running ??= (async () => {
        while (pending.size > 0) {
          await pending.get(Math.max(...pending.keys()))!.run();
        }
      })().finally(() => running = undefined);
      return running;
    },
  };
  return self;
}

/**
 * Runs `body` with a {@linkcode Cleanup}: whatever it registered is cleaned up when it returns or
 * throws, and on SIGINT/SIGTERM, after which the process exits 130 (SIGINT) or 143 (SIGTERM). A
 * second signal within two seconds is the same request; a later one exits at once.
 */
export async function withCleanup<T>(
  body: (cleanup: Cleanup) => Promise<T>,
  options: CleanupOptions = {},
): Promise<T> {
  const log = options.log ?? ((line: string) => console.error(line));
  const cleanup = createCleanup(options);
  let signalled: CleanupSignal | undefined;
  let signalledAt = 0;
  const listeners = SIGNALS.map((s) => {
    const listener = () => {
      if (signalled) {
        if (performance.now() - signalledAt > REPEAT_SIGNAL_MS) Deno.exit(SIGNAL_EXIT_CODE[signalled]);
        return;
      }
      signalled = s;
      signalledAt = performance.now();
      log(`${s}: cleaning up before exiting`);
      cleanup.abort(s);
      void cleanup.runAll().then(() => Deno.exit(SIGNAL_EXIT_CODE[s]));
    };
    Deno.addSignalListener(s, listener);
    return [s, listener] as const;
  });
  try {
    return await body(cleanup);
  } finally {
    await cleanup.runAll();
    // after a signal, what failed in `body` is what the cleanup closed: exit as the signal says
    if (signalled) Deno.exit(SIGNAL_EXIT_CODE[signalled]);
    for (const [s, listener] of listeners) Deno.removeSignalListener(s, listener);
  }
}
