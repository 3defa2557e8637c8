import assert from "node:assert/strict";
import fc from "fast-check";
import { Level, type Market, Order, User } from "./model.ts";
import { OrderIndex } from "./order_index.ts";

function order(id: number): Order {
  const o = new Order(
    id,
    new User(0, "u", 0),
    null as unknown as Market,
    0,
    0,
    0,
    false,
    0,
    1,
    1,
    0,
    undefined,
    0,
  );
  o.level = new Level(1);
  return o;
}

Deno.test("OrderIndex finds exactly the orders added and not removed, through compactions", () => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 5000 }), (removals) => {
      const index = new OrderIndex();
      const live = new Map<number, Order>();
      let id = 0;
      for (const remove of removals) {
        const o = order(++id);
        index.add(o);
        live.set(o.id, o);
        if (remove) {
          // Remove an older live order, picked deterministically.
          const victim = live.get([...live.keys()][Math.floor(live.size / 2)]!)!;
          victim.level = null;
          index.remove(victim);
          live.delete(victim.id);
        }
      }
      assert.equal(index.size, live.size);
      for (let i = 1; i <= id; i++) assert.equal(index.get(i), live.get(i));
      assert.deepEqual([...index.values()].map((o) => o.id), [...live.keys()].sort((a, b) => a - b));
    }),
    { numRuns: 50 },
  );
});

Deno.test("OrderIndex.add() refuses an id that does not grow", () => {
  const index = new OrderIndex();
  index.add(order(5));
  assert.throws(() => index.add(order(5)), RangeError);
});
