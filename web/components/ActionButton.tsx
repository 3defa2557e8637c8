/**
 * A button that keeps the keyboard focus while it cannot act (its request runs, or the market is
 * paused): it is marked `aria-disabled` instead of `disabled`, because a disabled button loses the
 * focus to the page's body. A click while unavailable does nothing, and a submit button's click is
 * cancelled, which also stops a form's submission by Enter.
 * @module
 */
import type { ButtonHTMLAttributes } from "preact";

export type ActionButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  /** True while the button must not act. */
  unavailable?: boolean;
};

export function ActionButton({ unavailable, onClick, ...rest }: ActionButtonProps) {
  return (
    <button
      type="button"
      {...rest}
      aria-disabled={unavailable ? "true" : undefined}
      onClick={(e) => {
        if (unavailable) return e.preventDefault();
        onClick?.call(e.currentTarget, e);
      }}
    />
  );
}
