/**
 * Whole responses of public market-data GETs, kept for a short window and keyed by path and query.
 * Anyone can make new keys (any query string is a key), so the cache is bounded by bytes and entries,
 * and entries past their window are swept when it fills: memory stays bounded whatever the requests.
 * @module
 */

export interface CachedEntry<T> {
  value: T;
  /** performance.now() after which the entry is stale. */
  until: number;
  bytes: number;
}

export interface ResponseCacheLimits {
  /** Bytes of bodies kept at most. @default {16 MiB} */
  maxBytes?: number;
  /** Entries kept at most. @default {2000} */
  maxEntries?: number;
}

export class ResponseCache<T> {
  readonly #entries = new Map<string, CachedEntry<T>>();
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  #bytes = 0;

  constructor(limits: ResponseCacheLimits = {}) {
    this.#maxBytes = limits.maxBytes ?? 16 * 1024 * 1024;
    this.#maxEntries = limits.maxEntries ?? 2000;
  }

  /** The entry of `key` while it is fresh at `now`. */
  get(key: string, now: number): T | undefined {
    const hit = this.#entries.get(key);
    return hit && hit.until > now ? hit.value : undefined;
  }

  /** Keeps `value` (`bytes` long) until `until`; a body larger than an eighth of the budget is not kept. */
  set(key: string, value: T, bytes: number, until: number, now: number): void {
    if (bytes > this.#maxBytes / 8) return;
    this.#delete(key);
    if (this.#bytes + bytes > this.#maxBytes || this.#entries.size >= this.#maxEntries) this.#sweep(now);
    // still full of fresh entries (a burst of distinct keys): start over rather than grow
    if (this.#bytes + bytes > this.#maxBytes || this.#entries.size >= this.#maxEntries) this.clear();
    this.#entries.set(key, { value, until, bytes });
    this.#bytes += bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #delete(key: string): void {
    const old = this.#entries.get(key);
    if (!old) return;
    this.#entries.delete(key);
    this.#bytes -= old.bytes;
  }

  #sweep(now: number): void {
    for (const [key, e] of this.#entries) {
      if (e.until <= now) this.#delete(key);
    }
  }
}
