/**
 * One side of an order book: its price levels sorted worst to best, so the best level is the last
 * element and matching consumes levels with `pop()`. Bids are kept in ascending price, asks in
 * descending price; `dir` (+1 / -1) turns both into one ascending key (`price * dir`).
 *
 * A sorted array with binary search beats a tree here: levels are few (hundreds to thousands per
 * side), matching works at the end of the array, and inserts move a short tail of pointers. A small
 * direct-mapped cache (price mod 4096 -> live level) answers most lookups without a search.
 * @module
 */
import { Level } from "./model.ts";

const CACHE_SIZE = 4096;
const CACHE_MASK = CACHE_SIZE - 1;

export class Ladder {
  /** +1 for bids (best = highest), -1 for asks (best = lowest). */
  readonly dir: number;
  /** Sorted by price * dir ascending: best last. */
  readonly levels: Level[] = [];
  /** Live levels by price & CACHE_MASK; an entry is cleared when its level is removed. */
  readonly #cache: (Level | null)[] = new Array(CACHE_SIZE).fill(null);

  constructor(dir: number) {
    this.dir = dir;
  }

  /** The best level, or null when the side is empty. */
  best(): Level | null {
    const n = this.levels.length;
    return n === 0 ? null : this.levels[n - 1]!;
  }

  /** Index of the first level whose key is >= price * dir (binary search). */
  #lowerBound(price: number): number {
    const levels = this.levels;
    const key = price * this.dir;
    const dir = this.dir;
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (levels[mid]!.price * dir < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The level at `price`, or undefined. */
  find(price: number): Level | undefined {
    const cached = this.#cache[price & CACHE_MASK]!;
    if (cached !== null && cached.price === price) return cached;
    const levels = this.levels;
    const i = this.#lowerBound(price);
    const level = levels[i];
    if (level !== undefined && level.price === price) {
      this.#cache[price & CACHE_MASK] = level;
      return level;
    }
    return undefined;
  }

  /** The level at `price`, created (and inserted in order) when missing. */
  getOrCreate(price: number): Level {
    const slot = price & CACHE_MASK;
    const cached = this.#cache[slot]!;
    if (cached !== null && cached.price === price) return cached;
    const levels = this.levels;
    const n = levels.length;
    let level: Level;
    if (n === 0 || levels[n - 1]!.price * this.dir < price * this.dir) {
      level = new Level(price);
      levels.push(level);
    } else {
      const i = this.#lowerBound(price);
      const found = levels[i];
      if (found !== undefined && found.price === price) level = found;
      else {
        level = new Level(price);
        levels.splice(i, 0, level);
      }
    }
    this.#cache[slot] = level;
    return level;
  }

  /** Removes the best level (the matching loop emptied it). */
  popBest(): void {
    const level = this.levels.pop()!;
    this.#uncache(level);
  }

  /** Removes an (empty) level. */
  remove(level: Level): void {
    const levels = this.levels;
    const n = levels.length;
    this.#uncache(level);
    if (n > 0 && levels[n - 1] === level) {
      levels.pop();
      return;
    }
    const i = this.#lowerBound(level.price);
    if (levels[i] === level) levels.splice(i, 1);
  }

  #uncache(level: Level): void {
    const slot = level.price & CACHE_MASK;
    if (this.#cache[slot] === level) this.#cache[slot] = null;
  }
}
