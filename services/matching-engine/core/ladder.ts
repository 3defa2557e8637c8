/**
 * One side of an order book: its price levels sorted worst to best, so the best level is the last
 * element and matching consumes levels with `pop()`. Bids are kept in ascending price, asks in
 * descending price; `dir` (+1 / -1) turns both into one ascending key (`price * dir`).
 *
 * A sorted array with binary search beats a tree here: levels are few (hundreds to thousands per
 * side), matching works at the end of the array, and inserts move a short tail of pointers.
 * @module
 */
import { Level } from "./model.ts";

export class Ladder {
  /** +1 for bids (best = highest), -1 for asks (best = lowest). */
  readonly dir: number;
  /** Sorted by price * dir ascending: best last. */
  readonly levels: Level[] = [];

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
    const levels = this.levels;
    const n = levels.length;
    // Most activity is at the top of the book: try the best level first.
    if (n > 0 && levels[n - 1]!.price === price) return levels[n - 1];
    const i = this.#lowerBound(price);
    const level = levels[i];
    return level !== undefined && level.price === price ? level : undefined;
  }

  /** The level at `price`, created (and inserted in order) when missing. */
  getOrCreate(price: number): Level {
    const levels = this.levels;
    const n = levels.length;
    if (n > 0) {
      const best = levels[n - 1]!;
      if (best.price === price) return best;
      if (best.price * this.dir < price * this.dir) {
        const level = new Level(price);
        levels.push(level);
        return level;
      }
    }
    const i = this.#lowerBound(price);
    const found = levels[i];
    if (found !== undefined && found.price === price) return found;
    const level = new Level(price);
    levels.splice(i, 0, level);
    return level;
  }

  /** Removes an (empty) level. */
  remove(level: Level): void {
    const levels = this.levels;
    const n = levels.length;
    if (n > 0 && levels[n - 1] === level) {
      levels.pop();
      return;
    }
    const i = this.#lowerBound(level.price);
    if (levels[i] === level) levels.splice(i, 1);
  }
}
