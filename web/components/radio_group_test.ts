import assert from "node:assert/strict";
import { nextIndex } from "./RadioGroup.tsx";

Deno.test("nextIndex() moves a radio group's choice with the arrow keys, Home and End, wrapping", () => {
  assert.equal(nextIndex("ArrowRight", 0, 2), 1);
  assert.equal(nextIndex("ArrowDown", 1, 2), 0);
  assert.equal(nextIndex("ArrowLeft", 0, 3), 2);
  assert.equal(nextIndex("ArrowUp", 2, 3), 1);
  assert.equal(nextIndex("Home", 2, 3), 0);
  assert.equal(nextIndex("End", 0, 3), 2);
  assert.equal(nextIndex("Tab", 0, 3), undefined);
  assert.equal(nextIndex("a", 0, 3), undefined);
});
