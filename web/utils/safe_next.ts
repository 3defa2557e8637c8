/**
 * Where to send the browser after logging in or signing up: the `next` parameter, but only when it
 * stays on this site.
 * @module
 */

/**
 * `next` as a path on `origin` ("/trade/BTC-USD?tf=1m"), or "/" when it leads anywhere else.
 *
 * `next` is resolved the way the browser resolves a link (`new URL(next, origin)`), so the forms a
 * prefix check misses are caught too: `/\evil.example`, `/<TAB>/evil.example` and `//evil.example` all
 * resolve to another host. The result is a path, never a scheme or a host; leading slashes are
 * collapsed, because a path like `//evil.example` (from `/.//evil.example`) would itself be read as
 * a host.
 */
export function safeNext(next: string | null | undefined, origin: string): string {
  if (!next) return "/";
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return "/";
  }
  if (url.origin !== new URL(origin).origin) return "/";
  return `/${url.pathname.replace(/^\/+/, "")}${url.search}${url.hash}`;
}
