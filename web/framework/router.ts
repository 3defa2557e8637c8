/**
 * File-system routes on a Hono app, in Fresh's shape: every `routes/**.tsx` file is a page whose URL
 * is its path (`index.tsx` -> `/`, `trade/[symbol].tsx` -> `/trade/:symbol`). A route file default-exports
 * its page component and may export `handler` (per HTTP method) to load data and call `ctx.render(data)`,
 * and `title`. `_app.tsx` is the layout around every page, `_404.tsx` the not-found page and
 * `_error.tsx` the page for other errors (`throw new HttpError(status)` from a handler picks them).
 * @module
 */
import type { Context, Hono } from "hono";
import { type ComponentChildren, type ComponentType, h } from "preact";
import { type AssetManifest, registerIsland, renderDocument } from "./island.tsx";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
type Method = typeof METHODS[number];

/** An HTTP error with a status, thrown by a handler to render the 404 or error page. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message?: string, options?: ErrorOptions) {
    super(message ?? `HTTP ${status}`, options);
    this.name = "HttpError";
    this.status = status;
  }
}

/** What a page component receives. */
export interface PageProps<D = undefined, S = unknown> {
  data: D;
  url: URL;
  params: Record<string, string>;
  state: S;
}

export interface RenderInit {
  status?: number;
  /** Document title; defaults to the route's exported `title`. */
  title?: string;
  headers?: Record<string, string>;
}

/** What a handler receives. */
export interface HandlerContext<D = undefined, S = unknown> {
  req: Request;
  url: URL;
  params: Record<string, string>;
  state: S;
  /** Renders the route's page with `data` inside the layout. */
  render(data: D, init?: RenderInit): Response;
}

export type Handler<D = undefined, S = unknown> = (
  ctx: HandlerContext<D, S>,
) => Response | Promise<Response>;
export type Handlers<D = undefined, S = unknown> = Partial<Record<Method, Handler<D, S>>>;

/** What the layout (`_app.tsx`) receives. */
export interface LayoutProps<S = unknown> {
  title: string;
  url: URL;
  state: S;
  /** Stylesheet URLs to link. */
  styles: string[];
  children: ComponentChildren;
}

// deno-lint-ignore no-explicit-any
type AnyPage = ComponentType<PageProps<any, any>>;

/** A route file's exports. */
export interface RouteModule {
  default?: AnyPage;
  // deno-lint-ignore no-explicit-any
  handler?: Handlers<any, any>;
  title?: string;
}

export interface Route {
  /** Path relative to routes/, e.g. "trade/[symbol].tsx". */
  file: string;
  /** Hono path, e.g. "/trade/:symbol". */
  path: string;
  module: RouteModule;
}

/** Maps a route file to its URL pattern. */
export function routePath(file: string): string {
  const segments = file.replace(/\.tsx?$/, "").split("/")
    .filter((s) => s !== "index")
    .map((s) => s.replace(/^\[(\w+)\]$/, ":$1"));
  return "/" + segments.join("/");
}

async function* walk(dir: string, prefix = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) yield* walk(`${dir}/${e.name}`, `${prefix}${e.name}/`);
    else if (/\.tsx?$/.test(e.name) && !/_test\.tsx?$/.test(e.name)) yield prefix + e.name;
  }
}

/** Imports every route file; `_`-files come back separately as the special pages. */
export async function loadRoutes(dir: string): Promise<{
  routes: Route[];
  layout: ComponentType<LayoutProps<unknown>>;
  notFound: AnyPage;
  error: AnyPage;
}> {
  const routes: Route[] = [];
  const special: Record<string, AnyPage> = {};
  for await (const file of walk(dir)) {
    const module: RouteModule = await import(`file://${dir}/${file}`);
    const base = file.slice(file.lastIndexOf("/") + 1);
    if (base.startsWith("_")) {
      if (module.default) special[base.replace(/\.tsx?$/, "")] = module.default;
      continue;
    }
    routes.push({ file, path: routePath(file), module });
  }
  for (const name of ["_app", "_404", "_error"]) {
    if (!special[name]) throw new Error(`routes/${name}.tsx is missing`);
  }
  // Static segments before dynamic ones, so /trade/new would win over /trade/:symbol.
  routes.sort((a, b) => a.path.replaceAll(":", "~").localeCompare(b.path.replaceAll(":", "~")));
  return {
    routes,
    layout: special._app as unknown as ComponentType<LayoutProps<unknown>>,
    notFound: special._404,
    error: special._error,
  };
}

/** Imports every `islands/*.tsx` and registers its default export under the file name. */
export async function loadIslands(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".tsx") || e.name.endsWith("_test.tsx")) continue;
    const name = e.name.slice(0, -4);
    const module = await import(`file://${dir}/${e.name}`);
    if (typeof module.default !== "function") throw new Error(`islands/${e.name} has no default export`);
    registerIsland(name, module.default);
    names.push(name);
  }
  return names.sort();
}

export interface MountOptions<S> {
  routes: Awaited<ReturnType<typeof loadRoutes>>;
  assets: () => AssetManifest;
  /** Builds the per-request state handed to handlers, pages and the layout. */
  state: (c: Context) => S;
  /** Extra stylesheet URLs for every page. */
  styles?: string[];
  /** Called with unexpected errors (for logging). */
  onError?: (error: unknown, req: Request) => void;
}

/** Registers every route on `app`, plus the not-found and error pages. */
export function mountRoutes<S>(app: Hono, options: MountOptions<S>): void {
  const { routes, layout, notFound, error } = options.routes;

  function page(
    c: Context,
    component: AnyPage,
    data: unknown,
    init: RenderInit & { title: string },
    params: Record<string, string>,
  ): Response {
    const assets = options.assets();
    const url = new URL(c.req.url);
    const state = options.state(c);
    const tree = h(layout, {
      title: init.title,
      url,
      state,
      styles: [...(options.styles ?? []), ...assets.css.map((f) => `${assets.base}/${f}`)],
      children: h(component, { data, url, params, state }),
    });
    const { html } = renderDocument(tree, assets);
    return new Response(html, {
      status: init.status ?? 200,
      headers: { "content-type": "text/html; charset=utf-8", ...init.headers },
    });
  }

  function errorPage(c: Context, err: unknown): Response {
    if (err instanceof HttpError && err.status === 404) {
      return page(c, notFound, { message: err.message }, { status: 404, title: "Not found" }, {});
    }
    const status = err instanceof HttpError ? err.status : 500;
    if (status >= 500) options.onError?.(err, c.req.raw);
    const message = err instanceof HttpError ? err.message : "Something went wrong on our side.";
    return page(c, error, { status, message }, { status, title: `Error ${status}` }, {});
  }

  for (const route of routes) {
    const { module } = route;
    const handlers: Handlers<unknown, S> = module.handler ?? { GET: (ctx) => ctx.render(undefined) };
    for (const method of METHODS) {
      const handle = handlers[method];
      if (!handle) continue;
      app.on(method, route.path, async (c) => {
        const params = c.req.param() as Record<string, string>;
        const ctx: HandlerContext<unknown, S> = {
          req: c.req.raw,
          url: new URL(c.req.url),
          params,
          state: options.state(c),
          render: (data, init = {}) => {
            if (!module.default) throw new Error(`routes/${route.file} has no page component`);
            return page(
              c,
              module.default,
              data,
              { ...init, title: init.title ?? module.title ?? "" },
              params,
            );
          },
        };
        try {
          return await handle(ctx);
        } catch (err) {
          return errorPage(c, err);
        }
      });
    }
  }
  app.notFound((c) => errorPage(c, new HttpError(404, `Nothing lives at ${new URL(c.req.url).pathname}`)));
  app.onError((err, c) => errorPage(c, err));
}
