/**
 * API keys for bots. A key is an id (`ak_…`, sent in X-API-Key) and a secret shown once. Requests
 * are signed with HMAC-SHA256(secret, canonical request) and carry X-Timestamp and X-Signature.
 *
 * The secret is never stored: it is derived as HMAC-SHA256(server key, "kalency-api-key|v1|" + id +
 * "|" + salt), with a random salt per key kept in the database next to SHA-256(secret). A database
 * leak alone gives nothing to sign with; the server key alone gives nothing without the salts. The
 * honest trade-off (see docs/auth.md): whoever holds both can sign as every key, exactly as with a
 * secret stored encrypted, because HMAC verification needs the key material on the server.
 * @module
 */
import { canonicalRequest } from "@lib/users";
import type { Sql } from "@lib/db";
import type { RedisClient } from "@lib/redis";
import type { Role } from "@lib/users";
import { ApiError } from "./errors.ts";
import { type Principal, sha256Hex } from "./tokens.ts";

const encoder = new TextEncoder();

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromHex(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** A key as its owner sees it; times in epoch ms, as everywhere in the API. */
export interface ApiKeyInfo {
  keyId: string;
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface ApiKeyOptions {
  serverKey: string;
  /** How long a key lookup is cached in this process. */
  cacheMs: number;
  /** Default receive window (ms). */
  recvWindowMs: number;
  /** Key prefix for the replay memory. */
  prefix: string;
}

interface CachedKey {
  userId: string;
  role: Role;
  hmac: CryptoKey;
  secretHash: string;
  until: number;
}

/** What a signed request carries. */
export interface SignedHeaders {
  keyId: string;
  timestamp: string | undefined;
  signature: string | undefined;
  recvWindow: string | undefined;
}

const MAX_RECV_WINDOW_MS = 60_000;
/** How often a key's `last_used_at` is written at most (per key and gateway process). */
const TOUCH_INTERVAL_MS = 60_000;
/** How far ahead of the server clock a timestamp may be. */
const FUTURE_SKEW_MS = 1000;
/** Every key id `create` makes: "ak_" and 16 hex digits. */
const KEY_ID_REGEXP = /^ak_[0-9a-f]{16}$/;
/**
 * Lookups (found and not found) kept in memory at most; past it the cache starts over. Unknown ids
 * are cached too, and anyone can send those (REST or a WebSocket `auth`), so it must be bounded.
 */
const CACHE_MAX = 10_000;

/** Creates, lists, revokes and verifies API keys. */
export class ApiKeyService {
  #server: Promise<CryptoKey>;
  #cache = new Map<string, CachedKey | { missing: true; until: number }>();
  /** When this process last wrote each key's `last_used_at` (performance.now()). */
  #touched = new Map<string, number>();
  /** Those writes still running. */
  #touching = new Set<Promise<unknown>>();

  constructor(readonly sql: Sql, readonly redis: RedisClient, readonly options: ApiKeyOptions) {
    this.#server = crypto.subtle.importKey(
      "raw",
      encoder.encode(options.serverKey),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
  }

  async #derive(keyId: string, salt: string): Promise<string> {
    const mac = await crypto.subtle.sign(
      "HMAC",
      await this.#server,
      encoder.encode(`kalency-api-key|v1|${keyId}|${salt}`),
    );
    return base64url(new Uint8Array(mac));
  }

  /** Creates a key; the secret is in the result and nowhere else. */
  async create(userId: string, label: string): Promise<ApiKeyInfo & { secret: string }> {
    const keyId = "ak_" + hex(crypto.getRandomValues(new Uint8Array(8)));
    const salt = hex(crypto.getRandomValues(new Uint8Array(16)));
    const secret = await this.#derive(keyId, salt);
    const rows = await this.sql`
      INSERT INTO api_keys (key_id, user_id, label, secret_hash, salt)
      VALUES (${keyId}, ${userId}, ${label}, ${await sha256Hex(secret)}, ${salt})
      RETURNING created_at`;
    return {
      keyId,
      secret,
      label,
      createdAt: (rows[0].created_at as Date).getTime(),
      lastUsedAt: null,
      revokedAt: null,
    };
  }

  /** A user's keys, without secrets, newest first. */
  async list(userId: string): Promise<ApiKeyInfo[]> {
    const rows = await this.sql`SELECT key_id, label, created_at, last_used_at, revoked_at FROM api_keys
                                WHERE user_id = ${userId} ORDER BY created_at DESC, key_id`;
    return rows.map((r) => ({
      keyId: String(r.key_id),
      label: String(r.label),
      createdAt: (r.created_at as Date).getTime(),
      lastUsedAt: r.last_used_at ? (r.last_used_at as Date).getTime() : null,
      revokedAt: r.revoked_at ? (r.revoked_at as Date).getTime() : null,
    }));
  }

  /** Revokes one of a user's keys. Returns false when the user has no such active key. */
  async revoke(userId: string, keyId: string): Promise<boolean> {
    const rows = await this.sql`UPDATE api_keys SET revoked_at = now()
      WHERE key_id = ${keyId} AND user_id = ${userId} AND revoked_at IS NULL RETURNING 1`;
    this.#cache.delete(keyId);
    return rows.length > 0;
  }

  /** How many key lookups are cached in this process. */
  get cachedLookups(): number {
    return this.#cache.size;
  }

  #remember(keyId: string, entry: CachedKey | { missing: true; until: number }): void {
    if (this.#cache.size >= CACHE_MAX && !this.#cache.has(keyId)) this.#cache.clear();
    this.#cache.set(keyId, entry);
  }

  async #lookup(keyId: string): Promise<CachedKey> {
    // no key has another shape: neither a database lookup nor a cache entry for it
    if (!KEY_ID_REGEXP.test(keyId)) throw this.#unknown();
    const now = performance.now();
    const hit = this.#cache.get(keyId);
    if (hit && hit.until > now) {
      if ("missing" in hit) throw this.#unknown();
      return hit;
    }
    const rows = await this.sql`
      SELECT k.user_id, k.secret_hash, k.salt, u.role FROM api_keys k JOIN users u USING (user_id)
      WHERE k.key_id = ${keyId} AND k.revoked_at IS NULL`;
    if (rows.length === 0) {
      this.#remember(keyId, { missing: true, until: now + Math.min(this.options.cacheMs, 1000) });
      throw this.#unknown();
    }
    const secret = await this.#derive(keyId, String(rows[0].salt));
    const entry: CachedKey = {
      userId: String(rows[0].user_id),
      role: rows[0].role === "admin" ? "admin" : "user",
      secretHash: String(rows[0].secret_hash),
      hmac: await crypto.subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["verify"],
      ),
      until: now + this.options.cacheMs,
    };
    if (entry.secretHash !== await sha256Hex(secret)) {
      throw new ApiError(
        401,
        "API_KEY_SERVER_KEY_CHANGED",
        "This API key was issued under another server key (KALENCY_API_KEY_SECRET changed); create a new key",
      );
    }
    if (this.options.cacheMs > 0) this.#remember(keyId, entry);
    return entry;
  }

  #unknown(): ApiError {
    return new ApiError(401, "INVALID_API_KEY", "API key is unknown or revoked");
  }

  /** Checks a `<keyId>:<secret>` pair (WebSocket login). */
  async verifySecret(keyId: string, secret: string): Promise<Principal> {
    const entry = await this.#lookup(keyId);
    if (entry.secretHash !== await sha256Hex(secret)) throw this.#unknown();
    this.#touch(keyId);
    return { userId: entry.userId, role: entry.role, via: "apiKey", keyId };
  }

  /**
   * Verifies a signed request: known key, timestamp inside the receive window, HMAC over the
   * canonical request, and a signature not seen before (remembered in Redis for the window).
   */
  async verifyRequest(
    h: SignedHeaders,
    req: { method: string; path: string; query: string; body: string },
    nowMs = Date.now(),
  ): Promise<Principal> {
    if (!h.signature) {
      throw new ApiError(
        401,
        "SIGNATURE_REQUIRED",
        "X-API-Key requests must be signed: send X-Timestamp (ms) and X-Signature (hex HMAC-SHA256); see /docs",
      );
    }
    if (!h.timestamp) {
      throw new ApiError(
        401,
        "INVALID_TIMESTAMP",
        "X-Timestamp is missing: send the signing time in ms since the epoch",
      );
    }
    if (!/^\d{1,16}$/.test(h.timestamp)) {
      throw new ApiError(
        401,
        "INVALID_TIMESTAMP",
        "X-Timestamp must be milliseconds since the epoch (digits only)",
      );
    }
    let window = this.options.recvWindowMs;
    if (h.recvWindow !== undefined) {
      const w = /^\d{1,6}$/.test(h.recvWindow) ? Number(h.recvWindow) : NaN;
      if (!Number.isInteger(w) || w < 1 || w > MAX_RECV_WINDOW_MS) {
        throw new ApiError(
          401,
          "INVALID_RECV_WINDOW",
          `X-Recv-Window must be an integer from 1 to ${MAX_RECV_WINDOW_MS} ms`,
        );
      }
      window = w;
    }
    const ts = Number(h.timestamp);
    if (ts > nowMs + FUTURE_SKEW_MS || nowMs - ts > window) {
      throw new ApiError(
        401,
        "TIMESTAMP_OUTSIDE_WINDOW",
        ts > nowMs
          ? `X-Timestamp ${ts} is ${ts - nowMs} ms ahead of the server time ${nowMs}; at most ` +
            `${FUTURE_SKEW_MS} ms ahead is allowed (check the client's clock)`
          : `X-Timestamp ${ts} is ${nowMs - ts} ms old at the server time ${nowMs}; the receive window ` +
            `(X-Recv-Window) allows ${window} ms`,
      );
    }
    const sig = fromHex(h.signature);
    if (!sig) throw new ApiError(401, "INVALID_SIGNATURE", "X-Signature must be 64 hex digits");
    const entry = await this.#lookup(h.keyId);
    const timestamp = h.timestamp;
    const verify = (recvWindow: string | undefined) =>
      crypto.subtle.verify(
        "HMAC",
        entry.hmac,
        sig as Uint8Array<ArrayBuffer>,
        encoder.encode(canonicalRequest({ timestamp, recvWindow, ...req })),
      );
    let ok = await verify(h.recvWindow);
    if (!ok && h.recvWindow !== undefined && await verify(undefined)) {
      // signed as before the window was part of the signature: taken, but with no more than the
      // default window, since anyone could have added the header
      if (nowMs - ts > Math.min(window, this.options.recvWindowMs)) {
        throw new ApiError(
          401,
          "TIMESTAMP_OUTSIDE_WINDOW",
          `X-Timestamp ${ts} is ${nowMs - ts} ms old; an X-Recv-Window that the signature does not cover ` +
            `allows at most the default ${this.options.recvWindowMs} ms (sign "<X-Timestamp>,<X-Recv-Window>", see /docs)`,
        );
      }
      ok = true;
    }
    if (!ok) {
      throw new ApiError(
        401,
        "INVALID_SIGNATURE",
        "X-Signature does not match the request (timestamp" +
          (h.recvWindow !== undefined ? " with X-Recv-Window" : "") + ", method, path, query or body differ)",
      );
    }
    // remember the signature for as long as its timestamp stays acceptable
    const ttl = Math.max(1000, ts + window + FUTURE_SKEW_MS - nowMs + 1000);
    const fresh = await this.redis.set(
      `${this.options.prefix}:gw:sig:${h.keyId}:${h.signature.toLowerCase()}`,
      "1",
      { condition: "NX", expiration: { type: "PX", value: ttl } },
    );
    if (fresh === null) {
      throw new ApiError(
        401,
        "REPLAYED_REQUEST",
        "This signed request was already received; sign each request anew, with an X-Timestamp later " +
          "than the key's last one (identical requests signed in the same millisecond sign alike)",
      );
    }
    this.#touch(h.keyId);
    return { userId: entry.userId, role: entry.role, via: "apiKey", keyId: h.keyId };
  }

  /**
   * Records that a key was used: `last_used_at` is written at most once a minute per key and
   * process, in the background, so a bot's requests do not each cost a database write.
   */
  #touch(keyId: string): void {
    const now = performance.now();
    const last = this.#touched.get(keyId);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    if (this.#touched.size > 10_000) this.#touched.clear();
    this.#touched.set(keyId, now);
    const write = this.sql`UPDATE api_keys SET last_used_at = now() WHERE key_id = ${keyId}`.then(
      () => {},
      // a lost "last used" time is not worth failing or delaying the request for
      () => this.#touched.delete(keyId),
    ).finally(() => this.#touching.delete(write));
    this.#touching.add(write);
  }

  /** Waits for the `last_used_at` writes still running (before the database pool closes). */
  async flush(): Promise<void> {
    await Promise.all(this.#touching);
  }
}
