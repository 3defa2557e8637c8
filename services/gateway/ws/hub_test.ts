import assert from "node:assert/strict";
import { type FeedSocket, Hub, type HubOptions, type Snapshot } from "./hub.ts";

class FakeSocket implements FeedSocket {
  frames: string[] = [];
  readyState = 1;
  bufferedAmount = 0;
  closedWith: [number | undefined, string | undefined] | undefined;
  send(data: string) {
    this.frames.push(data);
  }
  close(code?: number, reason?: string) {
    this.closedWith = [code, reason];
    this.readyState = 2;
  }
  /** Every message received, array frames split. */
  messages(): unknown[] {
    return this.frames.flatMap((f) => {
      const v = JSON.parse(f);
      return Array.isArray(v) ? v : [v];
    });
  }
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => (resolve = a, reject = b));
  return { promise, resolve, reject };
}

function hub(options: Partial<HubOptions> = {}) {
  return new Hub({
    maxBufferedBytes: 1 << 20,
    batchMs: 0,
    loadFailed: (channel) => JSON.stringify({ type: "error", code: "UNAVAILABLE", channel }),
    ...options,
  });
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const delta = (seq: number) => JSON.stringify({ channel: "book.X-Y", type: "delta", seq });
const snapshotOf = (seq: number): Snapshot => ({
  messages: [JSON.stringify({ channel: "book.X-Y", type: "snapshot", seq })],
  position: seq,
});

Deno.test("Hub.subscribe() buffers deltas while the snapshot loads and sends only the newer ones after it", async () => {
  const h = hub();
  const load = deferred<Snapshot>();
  let loads = 0;
  const spec = {
    name: "book.X-Y",
    kind: "book",
    ordering: "seq" as const,
    load: () => (loads++, load.promise),
  };
  const s1 = new FakeSocket();
  const s2 = new FakeSocket();
  const a = h.connect(s1, "v1");
  const b = h.connect(s2, "v1");
  h.subscribe(a, spec);
  for (const seq of [3, 4]) h.deliver("book.X-Y", delta(seq), seq);
  h.subscribe(b, spec); // joins the load in flight
  for (const seq of [5, 6]) h.deliver("book.X-Y", delta(seq), seq);
  load.resolve(snapshotOf(4));
  await tick();
  // a reader lagging behind the read model hands over 4 and 5 again, then the new 7
  for (const seq of [4, 5, 6, 7]) h.deliver("book.X-Y", delta(seq), seq);
  await tick();
  assert.equal(loads, 1);
  for (const s of [s1, s2]) {
    assert.deepEqual(
      s.messages().map((m) => (m as { type: string; seq: number }).type + (m as { seq: number }).seq),
      [
        "snapshot4",
        "delta5",
        "delta6",
        "delta7",
      ],
    );
  }
});

Deno.test("Hub.subscribe() again on a snapshot channel sends a fresh snapshot (resync)", async () => {
  const h = hub();
  let n = 10;
  const spec = {
    name: "book.X-Y",
    kind: "book",
    ordering: "seq" as const,
    load: () => Promise.resolve(snapshotOf(n)),
  };
  const s = new FakeSocket();
  const c = h.connect(s, "v1");
  h.subscribe(c, spec);
  await tick();
  n = 20;
  h.subscribe(c, spec);
  await tick();
  h.deliver("book.X-Y", delta(21), 21);
  await tick();
  assert.deepEqual(s.messages().map((m) => (m as { seq: number }).seq), [10, 20, 21]);
  assert.equal(h.subscriptionCounts().get("book"), 1);
});

Deno.test("Hub: unsubscribing while the snapshot loads sends nothing; a failed load reports an error", async () => {
  const h = hub();
  const load = deferred<Snapshot>();
  const s = new FakeSocket();
  const c = h.connect(s, "v1");
  h.subscribe(c, { name: "book.X-Y", kind: "book", ordering: "seq", load: () => load.promise });
  assert.equal(h.unsubscribe(c, "book.X-Y"), true);
  load.resolve(snapshotOf(1));
  await tick();
  assert.deepEqual(s.frames, []);
  assert.equal(h.wants("book.X-Y"), false);

  const failing = deferred<Snapshot>();
  h.subscribe(c, { name: "wallet.u", kind: "wallet", ordering: "ts", load: () => failing.promise });
  failing.reject(new Error("redis down"));
  await tick();
  assert.deepEqual(s.messages(), [{ type: "error", code: "UNAVAILABLE", channel: "wallet.u" }]);
  assert.equal(c.subs.size, 0);
  assert.equal(h.subscriptionCounts().get("wallet"), 0);
});

Deno.test("Hub: ts ordering keeps items with the same timestamp as the snapshot", async () => {
  const h = hub();
  const s = new FakeSocket();
  const c = h.connect(s, "v1");
  h.subscribe(c, {
    name: "wallet.u",
    kind: "wallet",
    ordering: "ts",
    load: () => Promise.resolve({ messages: ['"snap"'], position: 100 }),
  });
  await tick();
  h.deliver("wallet.u", '"old"', 99);
  h.deliver("wallet.u", '"same"', 100);
  h.deliver("wallet.u", '"new"', 101);
  await tick();
  assert.deepEqual(s.messages(), ["snap", "same", "new"]);
});

Deno.test("Hub batches messages of one tick into one array frame on /v1/ws, one frame each on legacy routes", async () => {
  const h = hub();
  const v1 = new FakeSocket();
  const legacy = new FakeSocket();
  const a = h.connect(v1, "v1");
  const b = h.connect(legacy, "trades");
  h.subscribe(a, { name: "trades.X-Y", kind: "trades" });
  h.subscribe(b, { name: "~trades.X-Y", kind: "legacy_trades" });
  h.deliver("trades.X-Y", '{"n":1}');
  await tick();
  h.deliver("trades.X-Y", '{"n":2}');
  h.deliver("trades.X-Y", '{"n":3}');
  for (const n of [1, 2]) h.deliver("~trades.X-Y", `{"n":${n}}`);
  await tick();
  assert.deepEqual(v1.frames, ['{"n":1}', '[{"n":2},{"n":3}]']);
  assert.deepEqual(legacy.frames, ['{"n":1}', '{"n":2}']);
});

Deno.test("Hub with batchMs waits and sends one frame for everything in the window", async () => {
  const sent: number[] = [];
  const h = hub({
    batchMs: 30,
    metrics: { sent: (_r, n) => sent.push(n), dropped: () => {}, fanout: () => {} },
  });
  const s = new FakeSocket();
  const c = h.connect(s, "v1");
  h.subscribe(c, { name: "t", kind: "trades" });
  h.deliver("t", "1");
  await new Promise((r) => setTimeout(r, 5));
  h.deliver("t", "2");
  assert.deepEqual(s.frames, []);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(s.frames, ["[1,2]"]);
  assert.deepEqual(sent, [2]);
  h.close();
});

Deno.test("Hub drops a client whose unsent bytes pass the limit and keeps serving the others", async () => {
  const dropped: string[] = [];
  const h = hub({
    maxBufferedBytes: 1000,
    metrics: { sent: () => {}, dropped: (route) => dropped.push(route), fanout: () => {} },
  });
  const slow = new FakeSocket();
  const fast = new FakeSocket();
  const stuckOutbox = new FakeSocket();
  const cs = h.connect(slow, "v1");
  const cf = h.connect(fast, "v1");
  const co = h.connect(stuckOutbox, "v1");
  for (const c of [cs, cf, co]) h.subscribe(c, { name: "t", kind: "trades" });
  slow.bufferedAmount = 990;
  h.deliver("t", '"0123456789abcdef"');
  await tick();
  assert.deepEqual(slow.closedWith, [4008, "slow consumer"]);
  assert.equal(slow.frames.length, 0);
  assert.equal(fast.frames.length, 1);
  // a big burst in one tick is cut off before it is even sent
  h.deliver("t", JSON.stringify("x".repeat(1200)));
  assert.deepEqual(stuckOutbox.closedWith, [4008, "slow consumer"]);
  assert.deepEqual(dropped, ["v1", "v1", "v1"]);
  assert.equal(h.clientCount(), 0);
  assert.equal(h.wants("t"), false);
});

Deno.test("Hub.heartbeat() reaches /v1/ws clients only and cuts off stuck legacy clients", () => {
  const h = hub({ maxBufferedBytes: 100 });
  const v1 = new FakeSocket();
  const legacy = new FakeSocket();
  h.connect(v1, "v1");
  h.connect(legacy, "ticks");
  legacy.bufferedAmount = 101;
  h.heartbeat('{"type":"heartbeat"}');
  h.flush();
  assert.deepEqual(v1.frames, ['{"type":"heartbeat"}']);
  assert.deepEqual(legacy.closedWith?.[0], 4008);
});

Deno.test("Hub.close() closes every socket with 4012 and refuses later connections", async () => {
  const h = hub();
  const s = new FakeSocket();
  const c = h.connect(s, "v1");
  h.close();
  assert.deepEqual(s.closedWith, [4012, "server shutting down"]);
  const late = new FakeSocket();
  const cl = h.connect(late, "v1");
  assert.equal(late.closedWith?.[0], 4012);
  assert.equal(h.clientCount(), 0);
  // drained() waits for every socket's close event
  let done = false;
  const drained = h.drained(5000).then(() => done = true);
  h.socketClosed(c);
  await tick();
  assert.equal(done, false);
  h.socketClosed(cl);
  await drained;
});
