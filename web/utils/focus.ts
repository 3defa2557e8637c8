/**
 * Keeping the keyboard focus somewhere useful when the control that had it goes away (a cancelled
 * order's row, a revoked key's row): without this the focus falls to the page's body.
 * @module
 */

/**
 * Once the page has redrawn: when the focus was lost, focuses the element at `index` among those
 * matching `selector` (or the last of them), else the one matching `fallback`.
 */
export function refocusAfterRemoval(selector: string, index: number, fallback: string): void {
  setTimeout(() => {
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const candidates = document.querySelectorAll<HTMLElement>(selector);
    const target = candidates[Math.min(index, candidates.length - 1)] ??
      document.querySelector<HTMLElement>(fallback);
    target?.focus();
  }, 0);
}
