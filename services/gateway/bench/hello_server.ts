/**
 * The machine's HTTP ceiling for comparison: plain Deno.serve answering a JSON body.
 * HELLO_BYTES pads the body to that size and HELLO_HEADERS adds that many response headers, so the
 * floor can be measured for answers shaped like the gateway's (see bench/run.ts).
 */
const port = Number(Deno.env.get("HELLO_PORT") ?? 18999);
const bytes = Number(Deno.env.get("HELLO_BYTES") ?? 0);
const extra = Number(Deno.env.get("HELLO_HEADERS") ?? 0);
const base = '{"ok":true}';
const body = bytes > base.length ? `{"ok":true,"pad":"${"x".repeat(Math.max(0, bytes - 20))}"}` : base;
const headers: [string, string][] = [["content-type", "application/json"]];
for (let i = 0; i < extra; i++) headers.push([`x-reference-${i}`, "value"]);
Deno.serve(
  { hostname: "127.0.0.1", port, onListen() {} },
  (req) => new URL(req.url).pathname === "/healthz" ? new Response("ok") : new Response(body, { headers }),
);
