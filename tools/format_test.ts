import assert from "node:assert/strict";
import {
  alignDecimals,
  createStyle,
  excerpt,
  formatDuration,
  idBefore,
  normalizeStreamId,
  parseDuration,
  parseSince,
  percentile,
  ratioBps,
  stripAnsi,
  subtractDecimals,
  sumDecimals,
  table,
} from "./format.ts";

Deno.test("parseDuration() reads ms, s, m, h, d and combinations", async (t) => {
  const cases: [string, number | undefined][] = [
    ["250ms", 250],
    ["5s", 5000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1h30m", 5_400_000],
    ["", undefined],
    ["5", undefined],
    ["5 minutes", undefined],
    ["-5m", undefined],
  ];
  for (const [text, expected] of cases) {
    await t.step(JSON.stringify(text), () => assert.equal(parseDuration(text), expected));
  }
});

Deno.test("parseSince() takes a duration back from now or an RFC 3339 time", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  assert.equal(parseSince("5m", now), now - 300_000);
  assert.equal(parseSince("2026-11-26T11:00:00Z", now), Date.parse("2026-11-26T11:00:00Z"));
  assert.equal(parseSince("2026-11-26T11:00:00.250+01:00", now), Date.parse("2026-11-26T10:00:00.250Z"));
  assert.equal(parseSince("yesterday", now), undefined);
  assert.equal(parseSince("2026-11-26", now), undefined);
});

Deno.test("idBefore() gives the id just before, so reading after it includes the id", () => {
  assert.equal(idBefore("1764118000000-5"), "1764118000000-4");
  assert.equal(idBefore("1764118000000-0"), "1764117999999-18446744073709551615");
  assert.equal(idBefore("0-0"), "0-0");
  assert.equal(normalizeStreamId("1764118000000"), "1764118000000-0");
  assert.equal(normalizeStreamId("12-3"), "12-3");
  assert.equal(normalizeStreamId("abc"), undefined);
  // Redis's parts are unsigned 64-bit: a larger one is a usage error, not a Redis error
  assert.equal(normalizeStreamId("1-18446744073709551615"), "1-18446744073709551615");
  assert.equal(normalizeStreamId("1795688982787-99999999999999999999"), undefined);
});

Deno.test("sumDecimals() and subtractDecimals() are exact", () => {
  assert.equal(sumDecimals(["0.1", "0.2"]), "0.3");
  assert.equal(sumDecimals(["1.50", "2", "0.000000001"]), "3.500000001");
  assert.equal(subtractDecimals("65000.50", "65000.00"), "0.5");
  assert.equal(subtractDecimals("1", "1.25"), "-0.25");
});

Deno.test("ratioBps() gives basis points with two decimals, rounded half up", () => {
  assert.equal(ratioBps("0.5", "65000.25"), "0.08");
  assert.equal(ratioBps("1", "100"), "100.00");
  assert.equal(ratioBps("1", "3"), "3333.33");
  assert.equal(ratioBps("1", "0"), undefined);
});

Deno.test("table() aligns columns, ignoring colour codes", () => {
  const s = createStyle(true);
  const lines = table(["A", "BB"], [[s.red("xyz"), "1"], ["q", "22"]], ["left", "right"]);
  assert.deepEqual(lines.map(stripAnsi), ["A    BB", "xyz   1", "q    22"]);
});

Deno.test("alignDecimals() lines decimal points up", () => {
  assert.deepEqual(alignDecimals(["65000.5", "1", "0.25"]), ["65000.50", "1.00", "0.25"]);
  assert.deepEqual(alignDecimals(["65000.5", "1", "0.25"], " "), ["65000.5 ", "1   ", "0.25"]);
  assert.deepEqual(alignDecimals(["65000", "1"]), ["65000", "1"]);
});

Deno.test("percentile() is nearest-rank", () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(v, 50), 50);
  assert.equal(percentile(v, 99), 99);
  assert.equal(percentile(v, 100), 100);
  assert.equal(percentile([], 50), undefined);
});

Deno.test("excerpt() and formatDuration() stay short", () => {
  assert.equal(excerpt("a  b\nc", 80), "a b c");
  assert.equal(excerpt("abcdefghij", 5), "abcd…");
  assert.equal(formatDuration(850), "850 ms");
  assert.equal(formatDuration(12_345), "12.3 s");
  assert.equal(formatDuration(245_000), "4m 05s");
});

Deno.test("createStyle(false) leaves text alone", () => {
  const s = createStyle(false);
  assert.equal(s.red("x") + s.bold("y"), "xy");
});
