import assert from "node:assert/strict";

const CSS = await Deno.readTextFile(new URL("./static/styles.css", import.meta.url));

/** The custom properties set in the rule for `selector`. */
function vars(selector: string): Record<string, string> {
  const at = CSS.indexOf(`${selector} {`);
  assert.ok(at >= 0, `${selector} is in styles.css`);
  const body = CSS.slice(at, CSS.indexOf("}", at));
  return Object.fromEntries([...body.matchAll(/(--[\w-]+):\s*([^;]+);/g)].map((m) => [m[1], m[2].trim()]));
}

function rgba(color: string): [number, number, number, number] {
  const hex = color.match(/^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i);
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16), 1];
  const fn = color.match(/^rgba?\(([^)]+)\)$/);
  assert.ok(fn, `a colour: ${color}`);
  const [r, g, b, a = "1"] = fn[1].split(",").map((x) => x.trim());
  return [Number(r), Number(g), Number(b), Number(a)];
}

function luminance([r, g, b]: number[]): number {
  const f = (v: number) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}

function contrast(a: number[], b: number[]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** `top` (with its alpha) painted over the opaque `under`. */
function over(top: number[], under: number[]): number[] {
  return [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]));
}

Deno.test("book prices stay readable on their depth bars in both palettes (4.5:1)", () => {
  const root = vars(":root");
  const panel = rgba(root["--panel"]);
  const cb = { ...root, ...vars('html[data-palette="cb"]') };
  const palettes: [string, Record<string, string>][] = [["default", root], ["colour-blind", cb]];
  for (const [name, palette] of palettes) {
    for (const side of ["buy", "sell"]) {
      const text = rgba(palette[`--${side}`]);
      const bar = over(rgba(palette[`--${side}-depth`] ?? palette[`--${side}-bg`]), panel);
      const ratio = contrast(text, bar);
      assert.ok(ratio >= 4.5, `${name} ${side}: ${ratio.toFixed(2)}:1`);
    }
  }
});

Deno.test("text on the filled buy/sell buttons and buy/sell text on the panels reach 4.5:1, both palettes", () => {
  const root = vars(":root");
  const cb = { ...root, ...vars('html[data-palette="cb"]') };
  const palettes: [string, Record<string, string>][] = [["default", root], ["colour-blind", cb]];
  for (const [name, palette] of palettes) {
    for (const side of ["buy", "sell"]) {
      const fill = rgba(palette[`--${side}`]);
      // the selected side toggle and the submit button: --on-{side} text on the --{side} fill
      const onFill = contrast(rgba(palette[`--on-${side}`]), fill);
      assert.ok(onFill >= 4.5, `${name} ${side} button text: ${onFill.toFixed(2)}:1`);
      // prices and 24h changes in the side's colour, on a panel and on a highlighted row
      for (const bg of ["--panel", "--panel-2"]) {
        const ratio = contrast(fill, rgba(palette[bg]));
        assert.ok(ratio >= 4.5, `${name} ${side} text on ${bg}: ${ratio.toFixed(2)}:1`);
      }
    }
  }
});

Deno.test("links in running text are underlined, not told apart by colour only", () => {
  const at = CSS.indexOf("\na {");
  const rule = CSS.slice(at, CSS.indexOf("}", at));
  assert.match(CSS, /\np a:not\(\.btn\) \{[^}]*text-decoration: underline;/);
  assert.match(rule, /text-decoration: none/, "navigation links stay plain");
});
