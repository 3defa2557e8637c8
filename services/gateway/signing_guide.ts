/**
 * How to sign an API-key request, for the OpenAPI document's `apiKey` scheme and the /docs page:
 * a bot author reading only the API's own documentation finds the canonical string and worked
 * examples there (docs/auth.md says the same at more length).
 * @module
 */
import type { SignedRequest } from "@lib/users";

/** Worked examples under the secret `s3cret`; a test checks them against the signing code and docs/auth.md. */
export const SIGNING_EXAMPLES: ReadonlyArray<SignedRequest & { secret: string; signature: string }> = [
  {
    secret: "s3cret",
    timestamp: "1764118000000",
    method: "GET",
    path: "/v1/orders/open",
    query: "symbol=BTC-USD",
    body: "",
    signature: "0b5735fc552a860b12055c1a33bb73de6a47de4201744673207d05cd4e15e5db",
  },
  {
    secret: "s3cret",
    timestamp: "1764118000000",
    method: "POST",
    path: "/v1/orders",
    query: "",
    body: '{"symbol":"BTC-USD","side":"BUY","type":"LIMIT","price":"65000","qty":"0.01"}',
    signature: "f16665ebac9a853a011276bca23357389b4fa6783f2ca8b45dd64ffb1ade6aaf",
  },
  {
    secret: "s3cret",
    timestamp: "1764118000000",
    recvWindow: "30000",
    method: "GET",
    path: "/v1/me",
    query: "",
    body: "",
    signature: "53b141a79dbbbeeb554089d316f743ece13b63570cbc680deefb942be8a4289e",
  },
];

function example(e: (typeof SIGNING_EXAMPLES)[number]): string {
  const when = e.recvWindow === undefined ? e.timestamp : `${e.timestamp},${e.recvWindow}`;
  const canonical = [when, e.method, e.path, e.query, e.body].join("\\n");
  return `  ${e.method} ${e.path}${e.query ? `?${e.query}` : ""}${
    e.recvWindow ? ` with X-Recv-Window: ${e.recvWindow}` : ""
  }\n    signs "${canonical}"\n    X-Signature: ${e.signature}`;
}

/** Plain text with line breaks (the /docs page keeps them). */
export const SIGNING_GUIDE = `Requests with an API key carry four headers:
  X-API-Key      the key id (ak_...), from POST /v1/api-keys (made with a login; the secret is shown once)
  X-Timestamp    milliseconds since the epoch, when the request was signed
  X-Signature    lowercase hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, of the canonical string
  X-Recv-Window  optional: ms the request stays valid, 1 to 60000 (default 5000); it is then signed too

The canonical string joins five parts with "\\n" (a newline):
  <X-Timestamp>\\n<METHOD>\\n<path>\\n<query>\\n<body>
With X-Recv-Window, the first part is "<X-Timestamp>,<X-Recv-Window>".
  path   the URL path exactly as sent, not decoded (/v1/orders)
  query  the query string without "?", exactly as sent ("" when none). Send characters a URL must
         escape (space, quotes, <, >, anything not ASCII) percent-encoded, and sign them that way.
  body   the body bytes exactly as sent ("" for none)

Examples with the secret "s3cret":
${SIGNING_EXAMPLES.map(example).join("\n")}

A signature is accepted once: two identical requests signed in the same millisecond have the same
signature, and the second is refused as REPLAYED_REQUEST. Give each request of a key a timestamp
later than the last one (a strictly increasing clock per key).
A timestamp older than the receive window, or more than 1 s ahead of the server's clock, is refused
with TIMESTAMP_OUTSIDE_WINDOW, which gives the server's time.`;
