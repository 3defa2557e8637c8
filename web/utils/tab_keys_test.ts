import assert from "node:assert/strict";
import { tabKeyTarget } from "./tab_keys.ts";

Deno.test("tabKeyTarget() moves between tabs with Left/Right (wrapping), Home and End", () => {
  assert.equal(tabKeyTarget("ArrowRight", 0, 3), 1);
  assert.equal(tabKeyTarget("ArrowRight", 2, 3), 0);
  assert.equal(tabKeyTarget("ArrowLeft", 0, 3), 2);
  assert.equal(tabKeyTarget("Home", 2, 3), 0);
  assert.equal(tabKeyTarget("End", 0, 3), 2);
  // Up and Down belong to the page (vertical tabs would use them)
  assert.equal(tabKeyTarget("ArrowDown", 0, 3), undefined);
  assert.equal(tabKeyTarget("Enter", 0, 3), undefined);
});
