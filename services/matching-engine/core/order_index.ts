/**
 * Resting orders by id. Ids only grow and an order rests at the end of the command that placed it,
 * so orders arrive in increasing id order: the index is an append-only pair of arrays (ids, orders)
 * searched by binary search. Removal clears the order's slot (found through `o.slot`) so the order
 * can be collected at once; the id stays as a tombstone until the next compaction, which runs once
 * the index holds over 1,024 entries and fewer than a quarter of them are live.
 *
 * Resting and filling cost O(1) with no hashing; only a cancel by id pays O(log n). Measured on
 * the standard workload this beats both `Map<number, Order>` and an open-addressing hash table.
 * @module
 */
import type { Order } from "./model.ts";

export class OrderIndex {
  #ids = new Float64Array(1024);
  #orders: (Order | null)[] = [];
  #n = 0;
  #live = 0;

  /** Number of resting orders. */
  get size(): number {
    return this.#live;
  }

  /** Adds a resting order; its id must be greater than every id added before. */
  add(o: Order): void {
    const n = this.#n;
    if (n > 0 && this.#ids[n - 1]! >= o.id) {
      throw new RangeError(`order ids must increase: ${o.id} after ${this.#ids[n - 1]}`);
    }
    if (n === this.#ids.length) {
      const ids = new Float64Array(n * 2);
      ids.set(this.#ids);
      this.#ids = ids;
    }
    this.#ids[n] = o.id;
    this.#orders[n] = o;
    o.slot = n;
    this.#n = n + 1;
    this.#live++;
  }

  /** Removes a resting order. */
  remove(o: Order): void {
    this.#orders[o.slot] = null;
    o.slot = -1;
    this.#live--;
    if (this.#n > 1024 && this.#live * 4 < this.#n) this.#compact();
  }

  /** The resting order with this id, or undefined. */
  get(id: number): Order | undefined {
    const ids = this.#ids;
    let lo = 0;
    let hi = this.#n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#n && ids[lo] === id ? this.#orders[lo] ?? undefined : undefined;
  }

  /** Resting orders in id order. */
  *values(): IterableIterator<Order> {
    for (let i = 0; i < this.#n; i++) {
      const o = this.#orders[i];
      if (o) yield o;
    }
  }

  #compact(): void {
    const ids = this.#ids;
    const orders = this.#orders;
    let j = 0;
    for (let i = 0; i < this.#n; i++) {
      const o = orders[i];
      if (o) {
        ids[j] = ids[i]!;
        orders[j] = o;
        o.slot = j;
        j++;
      }
    }
    orders.length = j;
    this.#n = j;
  }
}
