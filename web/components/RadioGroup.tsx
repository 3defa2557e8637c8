/**
 * A row of buttons that acts as one radio group (WAI-ARIA radio pattern): one Tab stop, the arrow
 * keys move the choice, Home and End jump to the ends. Used for the order form's side and type.
 * @module
 */
import { tabKeyTarget } from "../utils/tab_keys.ts";
import type { ComponentChildren } from "preact";

export interface RadioGroupProps<T extends string> {
  label: string;
  /** Class of the group element. */
  class: string;
  options: readonly T[];
  value: T;
  onChange: (value: T) => void;
  /** The text of an option. */
  text: (value: T) => ComponentChildren;
  /** Extra classes of an option's button. */
  optionClass?: (value: T) => string;
}

/**
 * Which option a key moves to from `index`, or undefined for a key the group does not use: the
 * tab list's keys, with Down and Up moving as Right and Left do.
 */
export function nextIndex(key: string, index: number, count: number): number | undefined {
  const horizontal = key === "ArrowDown" ? "ArrowRight" : key === "ArrowUp" ? "ArrowLeft" : key;
  return tabKeyTarget(horizontal, index, count);
}

export function RadioGroup<T extends string>(props: RadioGroupProps<T>) {
  const { options, value } = props;
  const onKeyDown = (e: KeyboardEvent) => {
    const next = nextIndex(e.key, Math.max(0, options.indexOf(value)), options.length);
    if (next === undefined) return;
    e.preventDefault();
    props.onChange(options[next]);
    // the checked option takes the focus, as a native radio group does
    const group = e.currentTarget as HTMLElement;
    group.querySelectorAll<HTMLElement>('[role="radio"]')[next]?.focus();
  };
  return (
    <div class={props.class} role="radiogroup" aria-label={props.label} onKeyDown={onKeyDown}>
      {options.map((o) => (
        <button
          key={o}
          type="button"
          role="radio"
          aria-checked={value === o}
          tabIndex={value === o ? 0 : -1}
          class={`${props.optionClass?.(o) ?? ""} ${value === o ? "on" : ""}`.trim()}
          onClick={() => props.onChange(o)}
        >
          {props.text(o)}
        </button>
      ))}
    </div>
  );
}
