/**
 * Access tokens (HS256 JWTs, short-lived) and refresh tokens (random, stored only as SHA-256,
 * rotated on every use; reusing a rotated token revokes every session of the user).
 * @module
 */
import { decode, sign, verify } from "hono/jwt";
import { USER_ID_REGEXP } from "@lib/contracts";
import type { Sql } from "@lib/db";
import type { Role, User } from "@lib/users";
import { ApiError } from "./errors.ts";

/** Who made a request. */
export interface Principal {
  userId: string;
  role: Role;
  /** How the request was authenticated. */
  via: "jwt" | "apiKey" | "legacyKey";
  keyId?: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: "Bearer";
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshExpiresIn: number;
}

export interface TokenOptions {
  secret: string;
  accessTtlSec: number;
  refreshTtlSec: number;
  /** Expired refresh tokens are deleted once every this many new ones. @default {PRUNE_EVERY} */
  pruneEvery?: number;
}

const ISSUER = "kalency";

/** Hex SHA-256 of a string. */
export async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function randomToken(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Verified access tokens kept in memory, so a client's next request skips the HMAC check. */
const VERIFIED_CACHE_MAX = 50_000;
/** Expired refresh tokens are deleted once every this many tokens issued. */
const PRUNE_EVERY = 500;

/** Issues and checks tokens. */
export class TokenService {
  #verified = new Map<string, { principal: Principal; expMs: number }>();
  #issued = 0;
  constructor(readonly sql: Sql, readonly options: TokenOptions) {}

  /** A signed access token for a user. */
  async accessToken(user: { userId: string; role: Role }, nowSec = Math.floor(Date.now() / 1000)) {
    return await sign(
      {
        sub: user.userId,
        role: user.role,
        iss: ISSUER,
        iat: nowSec,
        exp: nowSec + this.options.accessTtlSec,
      },
      this.options.secret,
      "HS256",
    );
  }

  /** A new access + refresh pair; the refresh token is stored hashed. */
  async issue(user: Pick<User, "userId" | "role">): Promise<TokenPair> {
    return await this.#pair(user, await this.#newRefreshToken(this.sql, user.userId));
  }

  /**
   * Deletes refresh tokens that expired more than a day ago; a revoked token stays until then, so
   * that its reuse is still recognized. Returns how many went.
   */
  async pruneExpired(): Promise<number> {
    // in bounded rounds, so that a first prune of a large table holds no long lock
    const result = await this.sql`DELETE FROM refresh_tokens WHERE token_hash IN (
      SELECT token_hash FROM refresh_tokens WHERE expires_at < now() - interval '1 day' LIMIT 10000)`;
    return result.count;
  }

  /** Stores a new refresh token of `userId` (through `sql`, a transaction's or the pool's). */
  async #newRefreshToken(sql: Sql, userId: string): Promise<string> {
    // every so often (logins and refreshes alike), rows of long-expired tokens go: an expired token
    // is refused by its date alone
    if (++this.#issued % (this.options.pruneEvery ?? PRUNE_EVERY) === 0) {
      this.pruneExpired().catch(() => {/* the next round tries again */});
    }
    const refreshToken = "rt_" + randomToken(32);
    await sql`INSERT INTO refresh_tokens (token_hash, user_id, expires_at)
      VALUES (${await sha256Hex(refreshToken)}, ${userId},
              now() + make_interval(secs => ${this.options.refreshTtlSec}))`;
    return refreshToken;
  }

  async #pair(user: Pick<User, "userId" | "role">, refreshToken: string): Promise<TokenPair> {
    return {
      accessToken: await this.accessToken(user),
      refreshToken,
      tokenType: "Bearer",
      expiresIn: this.options.accessTtlSec,
      refreshExpiresIn: this.options.refreshTtlSec,
    };
  }

  /** Checks an access token; throws a 401 ApiError saying why it is refused. */
  async verifyAccess(token: string): Promise<Principal> {
    const hit = this.#verified.get(token);
    if (hit) {
      if (hit.expMs > Date.now()) return hit.principal;
      this.#verified.delete(token);
    }
    let payload: Record<string, unknown>;
    try {
      payload = await verify(token, this.options.secret, { alg: "HS256", iss: ISSUER });
    } catch (e) {
      const name = (e as Error).name;
      // an expiry that is not a number (only a holder of the key could sign one) is no expiry
      if (name === "JwtTokenExpired" && typeof decode(token).payload.exp === "number") {
        throw new ApiError(
          401,
          "TOKEN_EXPIRED",
          "Access token has expired; refresh it at POST /v1/auth/refresh",
        );
      }
      throw new ApiError(401, "INVALID_TOKEN", "Access token is invalid (bad signature, format or issuer)");
    }
    const sub = payload.sub;
    if (typeof sub !== "string" || sub === "") {
      throw new ApiError(401, "INVALID_TOKEN", "Access token has no subject");
    }
    // a subject no user id can be (only a holder of the key could sign one) would fail deeper down
    if (sub.length > 64 || !USER_ID_REGEXP.test(sub)) {
      throw new ApiError(401, "INVALID_TOKEN", "Access token's subject is not a user id");
    }
    // every token this gateway issues expires; and one signature has one spelling (base64url
    // leaves spare bits in its last character, which verification alone does not look at)
    if (typeof payload.exp !== "number" || !isCanonicalBase64Url(token.slice(token.lastIndexOf(".") + 1))) {
      throw new ApiError(
        401,
        "INVALID_TOKEN",
        "Access token is invalid (no expiry, or a signature not in canonical form)",
      );
    }
    const principal: Principal = {
      userId: sub,
      role: payload.role === "admin" ? "admin" : "user",
      via: "jwt",
    };
    if (this.#verified.size >= VERIFIED_CACHE_MAX) this.#verified.clear();
    this.#verified.set(token, { principal, expMs: Number(payload.exp) * 1000 });
    return principal;
  }

  /**
   * Rotates a refresh token: revokes it and issues a new pair. A token that was already rotated or
   * revoked signals theft, so every refresh token of its user is revoked.
   */
  async refresh(refreshToken: string): Promise<{ user: User; tokens: TokenPair }> {
    const hash = await sha256Hex(refreshToken);
    // The rotation and its new token commit together. A second use of the same token waits on the
    // row until then, finds it rotated, and its sign-out of every session then sees the new token.
    const rotated = await this.sql.begin(async (tx) => {
      const rows = await tx`
        UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'rotated'
        WHERE token_hash = ${hash} AND revoked_at IS NULL AND expires_at > now()
        RETURNING user_id`;
      if (rows.length === 0) return undefined;
      const users = await tx`SELECT user_id, username, role, created_at FROM users
                             WHERE user_id = ${String(rows[0].user_id)}`;
      if (users.length === 0) throw new ApiError(401, "INVALID_REFRESH_TOKEN", "User no longer exists");
      const u = users[0];
      const user: User = {
        userId: String(u.user_id),
        username: String(u.username),
        role: u.role === "admin" ? "admin" : "user",
        createdAt: u.created_at as Date,
      };
      return { user, refreshToken: await this.#newRefreshToken(tx as unknown as Sql, user.userId) };
    });
    if (!rotated) {
      const known = await this.sql`
        SELECT user_id, revoked_at, revoked_reason FROM refresh_tokens WHERE token_hash = ${hash}`;
      if (known.length && known[0].revoked_at) throw await this.#revokedError(known[0]);
      throw new ApiError(401, "INVALID_REFRESH_TOKEN", "Refresh token is unknown or expired; log in again");
    }
    return { user: rotated.user, tokens: await this.#pair(rotated.user, rotated.refreshToken) };
  }

  /**
   * The answer to a revoked refresh token, by why it was revoked. Only a token already rotated
   * signals theft (someone else holds a copy), and signs out every session of its user.
   */
  async #revokedError(row: Record<string, unknown>): Promise<ApiError> {
    switch (row.revoked_reason) {
      case "logout":
        return new ApiError(
          401,
          "REFRESH_TOKEN_REVOKED",
          "Refresh token was revoked by a logout; log in again",
        );
      case "logout-all":
        return new ApiError(
          401,
          "REFRESH_TOKEN_REVOKED",
          "Refresh token was revoked when every session of this user was signed out; log in again",
        );
      case "reuse":
        return new ApiError(
          401,
          "REFRESH_TOKEN_REVOKED",
          "Refresh token was revoked because an earlier refresh token of this user was used twice (a sign " +
            "of a stolen token), which signs out every session; log in again",
        );
      default:
        await this.revokeAll(String(row.user_id), "reuse");
        return new ApiError(
          401,
          "REFRESH_TOKEN_REUSED",
          "Refresh token was already used; every session of this user has been signed out",
        );
    }
  }

  /** Revokes one refresh token (logout). Returns false when it was not active. */
  async revoke(refreshToken: string): Promise<boolean> {
    const rows = await this.sql`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'logout'
      WHERE token_hash = ${await sha256Hex(refreshToken)} AND revoked_at IS NULL RETURNING 1`;
    return rows.length > 0;
  }

  /** Revokes every refresh token of a user: a logout everywhere, or after a reused token. */
  async revokeAll(userId: string, reason: "logout-all" | "reuse" = "logout-all"): Promise<number> {
    const rows = await this.sql`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = ${reason}
      WHERE user_id = ${userId} AND revoked_at IS NULL RETURNING 1`;
    return rows.length;
  }
}

/** True when `text` is base64url exactly as its bytes encode (no padding, spare bits zero). */
function isCanonicalBase64Url(text: string): boolean {
  try {
    const bytes = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return btoa(bytes).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_") === text;
  } catch {
    return false;
  }
}
