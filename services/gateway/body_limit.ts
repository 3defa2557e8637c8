/**
 * The body limit for requests whose size is not announced (no Content-Length: chunked uploads): the
 * body is read up to the limit and the request rebuilt around the bytes.
 *
 * hono/body-limit does the same, but it rebuilds with `new Request(request, ...)`, which copies the
 * request's `signal`; under Deno.serve touching that signal prints a warning about its legacy abort
 * behaviour into the gateway's log. The rebuilt request here copies only what handlers read.
 * @module
 */

/** The request with its body read into memory, or "too-large" once it passes `maxBytes`. */
export async function readLimitedBody(request: Request, maxBytes: number): Promise<Request | "too-large"> {
  if (!request.body) return request;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return "too-large";
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return new Request(request.url, { method: request.method, headers: request.headers, body });
}
