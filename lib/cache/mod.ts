/**
 * A time-bounded cache where concurrent misses of a key share one load (single flight). The gateway
 * keeps its public reads in one, the web server the market data its pages render.
 * @module
 */

export interface TtlCacheOptions {
  /** How long a loaded value is served, unless `get` says otherwise. */
  ttlMs: number;
  /** Most entries kept (loaded or loading); beyond it the oldest goes. */
  maxEntries: number;
  /** The clock, in ms. @default {Date.now} */
  now?: () => number;
}

interface Entry {
  value: Promise<unknown>;
  /** When the value stops being served; Infinity while it loads. */
  expires: number;
}

/**
 * Values by key, each loaded once and served for its TTL from when it loaded. Concurrent misses of
 * a key share one load; a failed load is not kept, so the next call tries again.
 */
export class TtlCache {
  #entries = new Map<string, Entry>();
  #ttlMs: number;
  #maxEntries: number;
  #now: () => number;

  constructor(options: TtlCacheOptions) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = Math.max(1, options.maxEntries);
    this.#now = options.now ?? Date.now;
  }

  /** Entries held (loaded or loading). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The value of `key`: the cached one while fresh, else the result of `load()`, kept for `ttlMs`
   * (0 or less: not cached at all).
   */
  get<T>(key: string, load: () => Promise<T>, ttlMs = this.#ttlMs): Promise<T> {
    if (ttlMs <= 0) return load();
    const held = this.#entries.get(key);
    if (held && held.expires > this.#now()) return held.value as Promise<T>;
    if (held) this.#entries.delete(key);
    const entry: Entry = { value: Promise.resolve().then(load), expires: Infinity };
    entry.value.then(
      () => entry.expires = this.#now() + ttlMs,
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    this.#entries.set(key, entry);
    // A Map iterates in insertion order: the first key is the oldest entry.
    while (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return entry.value as Promise<T>;
  }

  /** Forgets `key` (a load under way still answers its waiters, but is not kept). */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
