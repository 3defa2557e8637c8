import assert from "node:assert/strict";
import {
  type Bar,
  mergeBars,
  sparklinePoints,
  TIME_AXIS_STAMPS,
  toBar,
  toColumns,
  viewWindow,
} from "./candles.ts";

const bar = (t: number, c: number): Bar => ({ t, o: c, h: c, l: c, c, v: 1 });

Deno.test("mergeBars() replaces the forming bar, appends new ones and inserts history in order", () => {
  let bars = [bar(60, 1), bar(120, 2)];
  bars = mergeBars(bars, [bar(120, 3)]);
  assert.deepEqual(bars.map((b) => b.c), [1, 3]);
  bars = mergeBars(bars, [bar(180, 4)]);
  bars = mergeBars(bars, [bar(0, 0), bar(60, 9)]);
  assert.deepEqual(bars.map((b) => [b.t, b.c]), [[0, 0], [60, 9], [120, 3], [180, 4]]);
});

Deno.test("mergeBars() with a step fills quiet buckets before a live bar with flat bars, as REST does", () => {
  const bars = mergeBars([bar(60, 1), bar(120, 2)], [bar(300, 5)], 60);
  assert.deepEqual(bars.map((b) => [b.t, b.o, b.c, b.v]), [
    [60, 1, 1, 1],
    [120, 2, 2, 1],
    [180, 2, 2, 0],
    [240, 2, 2, 0],
    [300, 5, 5, 1],
  ]);
  assert.equal(mergeBars([bar(60, 1)], [bar(120, 2)], 60).length, 2, "the next bucket needs no filling");
  assert.equal(mergeBars([bar(0, 1)], [bar(60 * 100_000, 2)], 60).length, 5002, "at most 5,000 flat bars");
});

Deno.test("toBar() and toColumns() give uPlot its seconds and numbers", () => {
  const b = toBar({
    openTime: 1_700_000_060_000,
    open: "1",
    high: "2.5",
    low: "0.5",
    close: "2",
    volume: "10",
  });
  assert.deepEqual(toColumns([b]), [[1_700_000_060], [1], [2.5], [0.5], [2], [10]]);
});

Deno.test("sparklinePoints() spans the box", () => {
  assert.equal(sparklinePoints([1, 2, 3], 100, 20), "0.0,19.0 50.0,10.0 100.0,1.0");
  assert.equal(sparklinePoints([1], 100, 20), "");
});

Deno.test("viewWindow() ends at the newest bar, with room for it, and never shows only future", () => {
  const last = 1_764_000_000; // the newest bar opens here (seconds)
  for (const [tf, span] of [[3600, 900], [3600, 3600], [3600, 14_400], [60, 900], [1, 86_400]]) {
    const w = viewWindow(last, tf, span);
    assert.ok(w.min <= last, `tf ${tf} span ${span}: the newest bar is in view (${w.min} > ${last})`);
    assert.ok(w.max >= last + tf, `tf ${tf} span ${span}: the newest bar is whole`);
    assert.ok(w.max - last - tf <= Math.max(span, 4 * tf) * 0.1 + 1e-9, "little empty room on the right");
    assert.ok(w.max - w.min >= span, "at least the span");
  }
  // a 15-minute range on 1h bars shows four bars, not an hour of empty future
  assert.deepEqual(viewWindow(last, 3600, 900), {
    min: last + 3600 + 1440 - 14_400,
    max: last + 3600 + 1440,
  });
});

Deno.test("the chart's time axis writes 24-hour times and the site's MM-DD dates", () => {
  const templates = TIME_AXIS_STAMPS.flatMap((row) => row.filter((x) => typeof x === "string")) as string[];
  for (const t of templates) assert.doesNotMatch(t, /\{h\}|\{aa\}|\{M\}\/\{D\}/, t);
  const minutes = TIME_AXIS_STAMPS.find((row) => row[0] === 60)!;
  assert.equal(minutes[1], "{HH}:{mm}");
  // the axis' first label counts as a year's rollover: a full date there was cut at the left edge
  const intraday = TIME_AXIS_STAMPS.filter((row) => (row[0] as number) < 86400).flat();
  assert.ok(!intraday.some((x) => typeof x === "string" && x.includes("{YYYY}")));
});
