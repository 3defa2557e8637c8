/**
 * Server side of the islands: `<Island>` wraps an interactive component in a
 * `<div data-island="Name" data-props='json'>` marker (with its server-rendered markup inside), and
 * `renderDocument()` renders a page to HTML and adds the script tags of exactly the islands it used.
 * Islands are browser code and never import this module, so markers are never nested.
 * The browser side is the tiny entry that `build.ts` writes per island: it finds the markers and
 * calls preact's `hydrate()` on them with the parsed props.
 * @module
 */
import type { ComponentType, VNode } from "preact";
import { renderToString } from "preact-render-to-string";

/** What the build wrote: per island, its entry file and the shared chunks it imports. */
export interface AssetManifest {
  /** URL prefix the files are served under, e.g. "/static/islands". */
  base: string;
  /**
   * Per island: its entry file, the chunks it imports statically (preloaded with the page) and the
   * chunks it loads on demand (dynamic `import()`, e.g. uPlot).
   */
  islands: Record<string, { file: string; imports: string[]; lazy?: string[] }>;
  /** Stylesheets to link on every page (file names under `base`). */
  css: string[];
}

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;
const registry = new Map<AnyComponent, string>();

/** Makes a component usable with `<Island>` under `name` (its file name in islands/). */
export function registerIsland(name: string, component: AnyComponent): void {
  const known = registry.get(component);
  if (known && known !== name) throw new TypeError(`Island component already registered as "${known}"`);
  registry.set(component, name);
}

// renderToString is synchronous, so one collector per render is enough.
let used: Set<string> | undefined;

/**
 * Renders an island: its server markup now, hydration in the browser later. Props must survive
 * `JSON.stringify` (no functions, no bigint, no Date).
 */
export function Island<P extends object>(
  { component, props }: { component: ComponentType<P>; props: NoInfer<P> },
) {
  const name = registry.get(component);
  if (!name) {
    throw new TypeError(
      `${component.name || "component"} is not an island: put it in web/islands/ with a default export`,
    );
  }
  used?.add(name);
  const C = component;
  return (
    <div data-island={name} data-props={JSON.stringify(props)}>
      <C {...props} />
    </div>
  );
}

/**
 * Renders a full page (`<html>` root) to a string, and inserts before `</body>` a module preload for
 * every chunk and one module script per island the page used.
 */
// deno-lint-ignore no-explicit-any
export function renderDocument(root: VNode<any>, assets: AssetManifest): { html: string; islands: string[] } {
  const collected = new Set<string>();
  used = collected;
  let body: string;
  try {
    body = renderToString(root);
  } finally {
    used = undefined;
  }
  const tags: string[] = [];
  const preloaded = new Set<string>();
  for (const name of collected) {
    const entry = assets.islands[name];
    if (!entry) throw new Error(`Island "${name}" is missing from the build: run \`deno task build:web\``);
    for (const chunk of entry.imports) {
      if (preloaded.has(chunk)) continue;
      preloaded.add(chunk);
      tags.push(`<link rel="modulepreload" href="${assets.base}/${chunk}">`);
    }
    tags.push(`<script type="module" src="${assets.base}/${entry.file}"></script>`);
  }
  const at = body.lastIndexOf("</body>");
  const html = "<!DOCTYPE html>" +
    (at < 0 ? body + tags.join("") : body.slice(0, at) + tags.join("") + body.slice(at));
  return { html, islands: [...collected] };
}
