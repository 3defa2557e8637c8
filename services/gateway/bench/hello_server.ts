/** The machine's HTTP ceiling for comparison: plain Deno.serve answering a small JSON body. */
const port = Number(Deno.env.get("HELLO_PORT") ?? 18999);
Deno.serve(
  { hostname: "127.0.0.1", port, onListen() {} },
  (req) =>
    new URL(req.url).pathname === "/healthz"
      ? new Response("ok")
      : new Response('{"ok":true}', { headers: { "content-type": "application/json" } }),
);
