/**
 * Password hashing off the event loop. argon2id is meant to be slow (about 40 ms a password here)
 * and runs in WebAssembly: on a server's main thread every login would stop every other request
 * for that long. {@linkcode PasswordWorkers} runs it in a few workers instead; the functions of
 * lib/users take one as their `hasher` (without it they hash in the calling thread, which suits
 * the CLI and tests of the hash itself).
 * @module
 */
import { hashPassword, type PasswordHashOptions, verifyPassword } from "./passwords.ts";
import type { HashAnswer, HashRequest } from "./password_worker.ts";

/** Where passwords are hashed and checked. */
export interface PasswordHasher {
  hash(password: string, options?: PasswordHashOptions): Promise<string>;
  verify(password: string, encoded: string): Promise<boolean>;
}

/** Hashing in the calling thread. */
export const IN_THREAD: PasswordHasher = { hash: hashPassword, verify: verifyPassword };

/** A request before it gets its id (Omit over each member of the union). */
type Unsent = HashRequest extends infer R ? R extends unknown ? Omit<R, "id"> : never : never;

type Waiter = { resolve: (v: string | boolean) => void; reject: (e: Error) => void };

/**
 * A small pool of hashing workers, started on first use. Each request goes to the worker with the
 * fewest in flight. `close()` ends them (and fails what is still waiting); a worker that exists
 * keeps the process alive, so whoever makes a pool closes it.
 */
export class PasswordWorkers implements PasswordHasher, AsyncDisposable {
  readonly #size: number;
  #workers: { worker: Worker; busy: number }[] = [];
  readonly #waiting = new Map<number, Waiter & { slot: { busy: number } }>();
  #nextId = 1;
  #closed = false;

  /** @param size workers to run; @default {2} */
  constructor(size = 2) {
    this.#size = Math.max(1, size);
  }

  hash(password: string, options?: PasswordHashOptions): Promise<string> {
    return this.#send({ op: "hash", password, options }) as Promise<string>;
  }

  verify(password: string, encoded: string): Promise<boolean> {
    return this.#send({ op: "verify", password, encoded }) as Promise<boolean>;
  }

  #send(request: Unsent): Promise<string | boolean> {
    if (this.#closed) return Promise.reject(new Error("the password workers are closed"));
    if (this.#workers.length < this.#size) this.#start();
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.#nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, slot });
      slot.worker.postMessage({ ...request, id } as HashRequest);
    });
  }

  #start(): void {
    const worker = new Worker(new URL("./password_worker.ts", import.meta.url).href, { type: "module" });
    worker.onmessage = (e: MessageEvent<HashAnswer>) => {
      const a = e.data;
      const w = this.#waiting.get(a.id);
      if (!w) return;
      this.#waiting.delete(a.id);
      w.slot.busy--;
      if ("error" in a) w.reject(new Error(`password hashing failed: ${a.error}`));
      else w.resolve(a.result);
    };
    worker.onerror = (e) => {
      // a worker that cannot run (its module failed to load): fail what waits, start anew next time
      e.preventDefault();
      this.#workers = this.#workers.filter((s) => s.worker !== worker);
      worker.terminate();
      for (const [id, w] of this.#waiting) {
        if (this.#workers.every((s) => s !== w.slot)) {
          this.#waiting.delete(id);
          w.reject(new Error(`password hashing worker failed: ${e.message}`));
        }
      }
    };
    this.#workers.push({ worker, busy: 0 });
  }

  /** Ends the workers; requests still waiting fail. */
  close(): Promise<void> {
    this.#closed = true;
    for (const { worker } of this.#workers) worker.terminate();
    this.#workers = [];
    for (const w of this.#waiting.values()) w.reject(new Error("the password workers are closed"));
    this.#waiting.clear();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
