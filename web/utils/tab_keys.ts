/**
 * The keys of a horizontal tab list (WAI-ARIA tabs pattern): Left and Right move to the previous and
 * next tab, wrapping; Home and End jump to the first and last.
 * @module
 */

/** The index of the tab `key` moves to from `index`, or undefined for a key tabs do not use. */
export function tabKeyTarget(key: string, index: number, count: number): number | undefined {
  switch (key) {
    case "ArrowRight":
      return (index + 1) % count;
    case "ArrowLeft":
      return (index - 1 + count) % count;
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return undefined;
  }
}
