/** A request as API-key signing sees it. */
export interface SignedRequest {
  /** Milliseconds since the epoch, as sent in X-Timestamp. */
  timestamp: string | number;
  /** HTTP method, any case (upper-cased here). */
  method: string;
  /** URL path, e.g. "/v1/orders". */
  path: string;
  /** Query string without the leading "?" ("" when none), exactly as sent. */
  query: string;
  /** Raw request body ("" when none), exactly as sent. */
  body: string;
  /** X-Recv-Window when the request sends one: it is signed, so nobody can widen it afterwards. */
  recvWindow?: string | number;
}

/**
 * The string an API-key request signs: timestamp, method, path, query and body joined by "\n"; with a
 * receive window, the first part is "<timestamp>,<window>".
 * @example canonicalRequest({ timestamp: 1, method: "get", path: "/v1/wallet", query: "", body: "" })
 *   === "1\nGET\n/v1/wallet\n\n"
 */
export function canonicalRequest(r: SignedRequest): string {
  const when = r.recvWindow === undefined ? `${r.timestamp}` : `${r.timestamp},${r.recvWindow}`;
  return `${when}\n${r.method.toUpperCase()}\n${r.path}\n${r.query}\n${r.body}`;
}

const encoder = new TextEncoder();

/** HMAC-SHA256 of the canonical request under an API secret, as lowercase hex (X-Signature). */
export async function apiKeySignature(secret: string, request: SignedRequest): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(canonicalRequest(request)));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
