/**
 * Whole-state consistency checks for tests and tools (exchange-core's validateInternalState):
 * books sorted, uncrossed and consistent with their orders; every user's locked balance equal to
 * what their open orders need; every asset's balances summing to its supply. Returns the list of
 * violations (empty when all hold).
 * @module
 */
import type { Core } from "./core.ts";
import { BUY, MAX_SAFE, type Order } from "./model.ts";

export function coreViolations(core: Core): string[] {
  const bad: string[] = [];
  const nAssets = core.assets.length;
  const needLocked = core.users.map(() => new Array<number>(nAssets).fill(0));
  let resting = 0;
  for (const m of core.markets) {
    for (const [name, ladder] of [["bids", m.bids], ["asks", m.asks]] as const) {
      const levels = ladder.levels;
      for (let i = 0; i < levels.length; i++) {
        const level = levels[i]!;
        if (i > 0 && !(levels[i - 1]!.price * ladder.dir < level.price * ladder.dir)) {
          bad.push(`${m.symbol} ${name}: levels not strictly sorted at ${level.price}`);
        }
        if (level.head === null) {
          bad.push(`${m.symbol} ${name}: empty level ${level.price} left in the ladder`);
        }
        let qty = 0;
        let count = 0;
        let prev: Order | null = null;
        for (let o = level.head; o !== null; o = o.next) {
          count++;
          qty += o.remaining;
          if (o.prev !== prev) bad.push(`order ${o.id}: prev link broken`);
          if (o.level !== level) bad.push(`order ${o.id}: level pointer wrong`);
          if (o.price !== level.price) bad.push(`order ${o.id}: price ${o.price} on level ${level.price}`);
          if ((o.side === BUY) !== (name === "bids")) bad.push(`order ${o.id}: on the wrong side`);
          if (!(o.remaining > 0)) bad.push(`order ${o.id}: rests with remaining ${o.remaining}`);
          if (o.filled + o.remaining !== o.qty) bad.push(`order ${o.id}: filled + remaining != qty`);
          if (core.orders.get(o.id) !== o) bad.push(`order ${o.id}: not in the order index`);
          const asset = o.side === BUY ? m.quote : m.base;
          const need = o.side === BUY ? core.buyLockFor(o, o.price, o.remaining) : o.remaining * m.baseK;
          if (o.locked !== need) bad.push(`order ${o.id}: locks ${o.locked}, needs ${need}`);
          needLocked[o.user.idx]![asset]! += o.locked;
          prev = o;
        }
        if (level.tail !== prev) bad.push(`${m.symbol} ${name} ${level.price}: tail wrong`);
        if (qty !== level.qty) {
          bad.push(`${m.symbol} ${name} ${level.price}: qty ${level.qty}, orders sum ${qty}`);
        }
        if (count !== level.count) {
          bad.push(`${m.symbol} ${name} ${level.price}: count ${level.count} != ${count}`);
        }
        resting += count;
      }
    }
    const bid = m.bids.best();
    const ask = m.asks.best();
    if (bid !== null && ask !== null && bid.price >= ask.price) {
      bad.push(`${m.symbol}: book crossed, bid ${bid.price} >= ask ${ask.price}`);
    }
  }
  if (core.orders.size !== resting) bad.push(`order index holds ${core.orders.size}, books hold ${resting}`);
  const sums = new Array<number>(nAssets).fill(0);
  for (const u of core.users) {
    let open = 0;
    let prev: Order | null = null;
    for (let o = u.head; o !== null; o = o.uNext) {
      open++;
      if (o.uPrev !== prev) bad.push(`user ${u.id}: open list link broken at ${o.id}`);
      if (prev !== null && prev.id >= o.id) bad.push(`user ${u.id}: open list not oldest first`);
      if (o.level === null) bad.push(`user ${u.id}: closed order ${o.id} in the open list`);
      if (o.user !== u) bad.push(`user ${u.id}: order ${o.id} of ${o.user.id} in the open list`);
      prev = o;
    }
    if (open !== u.openCount) bad.push(`user ${u.id}: openCount ${u.openCount}, list has ${open}`);
    for (let a = 0; a < nAssets; a++) {
      const free = u.free[a]!;
      const locked = u.locked[a]!;
      if (!Number.isSafeInteger(free) || free < 0) bad.push(`user ${u.id}: free ${free} of asset ${a}`);
      if (!Number.isSafeInteger(locked) || locked < 0) {
        bad.push(`user ${u.id}: locked ${locked} of asset ${a}`);
      }
      if (locked !== needLocked[u.idx]![a]) {
        bad.push(
          `user ${u.id}: locked ${locked} of ${core.assets[a]!.code}, open orders need ${
            needLocked[u.idx]![a]
          }`,
        );
      }
      sums[a]! += free + locked;
    }
  }
  for (let a = 0; a < nAssets; a++) {
    if (sums[a] !== core.supply[a]) {
      bad.push(`${core.assets[a]!.code}: balances sum ${sums[a]}, supply ${core.supply[a]}`);
    }
    if (core.supply[a]! > MAX_SAFE) bad.push(`${core.assets[a]!.code}: supply above 2^53`);
  }
  return bad;
}

/** Throws when any invariant is violated. */
export function assertCoreInvariants(core: Core): void {
  const bad = coreViolations(core);
  if (bad.length > 0) throw new Error(`engine invariants violated:\n  ${bad.slice(0, 20).join("\n  ")}`);
}
