// A server that echoes request bodies read through readLimitedBody (10 bytes at most), for
// body_limit_test.ts: it runs in a process of its own so that the test can read what Deno prints.
import { readLimitedBody } from "../body_limit.ts";

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
  const limited = await readLimitedBody(request, 10);
  if (limited === "too-large") return new Response("too large", { status: 413 });
  return new Response(await limited.text());
});
console.log(server.addr.port);
