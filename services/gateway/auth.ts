/**
 * Authentication of a request: a signed API-key request (X-API-Key + X-Timestamp + X-Signature), the
 * original's plain X-API-Key when legacy keys are enabled, or a Bearer access token.
 * @module
 */
import type { Context } from "hono";
import { ApiError, unreachableStore } from "./errors.ts";
import type { ApiKeyService } from "./api_keys.ts";
import type { Principal, TokenService } from "./tokens.ts";
import { findUser, type Role } from "@lib/users";

export interface AuthenticatorDeps {
  tokens: TokenService;
  apiKeys: ApiKeyService;
  /** key -> userId of the original's API_KEYS, when KALENCY_LEGACY_API_KEYS is on. */
  legacyKeys?: Map<string, string>;
}

/** Authenticates requests and WebSocket logins. */
export class Authenticator {
  constructor(readonly deps: AuthenticatorDeps) {}

  /** The request's principal, or undefined when it carries no credentials; throws 401 when they are bad. */
  async identify(c: Context): Promise<Principal | undefined> {
    const apiKey = c.req.header("x-api-key");
    if (apiKey !== undefined) {
      const signature = c.req.header("x-signature");
      const legacyUser = this.deps.legacyKeys?.get(apiKey);
      if (!signature && legacyUser) return { userId: legacyUser, role: "user", via: "legacyKey" };
      if (!apiKey.startsWith("ak_") && !signature) {
        throw new ApiError(
          401,
          "INVALID_API_KEY",
          this.deps.legacyKeys
            ? "API key is unknown: not one of API_KEYS, and keys made with POST /v1/api-keys start with ak_"
            : "API key is unknown; unsigned keys from API_KEYS need KALENCY_LEGACY_API_KEYS=true",
        );
      }
      const url = new URL(c.req.url);
      return await this.deps.apiKeys.verifyRequest({
        keyId: apiKey,
        timestamp: c.req.header("x-timestamp"),
        signature,
        recvWindow: c.req.header("x-recv-window"),
      }, {
        method: c.req.method,
        path: url.pathname,
        query: url.search.startsWith("?") ? url.search.slice(1) : url.search,
        body: c.req.method === "GET" || c.req.method === "HEAD" ? "" : await c.req.text(),
      });
    }
    const authorization = c.req.header("authorization");
    if (authorization === undefined) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) {
      throw new ApiError(401, "MISSING_BEARER_TOKEN", "Authorization must be 'Bearer <access token>'");
    }
    return await this.deps.tokens.verifyAccess(m[1]);
  }

  /**
   * The principal's role now. An access token's role is as old as the token, and an API key's as
   * its cached lookup, so an admin claim is checked in the database: a demoted admin must not keep
   * reading other users' data or using admin routes. Legacy keys are never admins.
   */
  async currentRole(principal: Principal): Promise<Role> {
    if (principal.role !== "admin") return principal.role;
    return (await findUser(this.deps.tokens.sql, { userId: principal.userId }))?.role ?? "user";
  }

  /**
   * Authenticates a WebSocket login token: an access token, `<keyId>:<secret>` of an API key, or a
   * legacy key. Undefined when refused; throws when a store it needs cannot be reached.
   */
  async token(token: string): Promise<Principal | undefined> {
    try {
      const legacyUser = this.deps.legacyKeys?.get(token);
      if (legacyUser) return { userId: legacyUser, role: "user", via: "legacyKey" };
      const colon = token.indexOf(":");
      if (token.startsWith("ak_") && colon > 0) {
        return await this.deps.apiKeys.verifySecret(token.slice(0, colon), token.slice(colon + 1));
      }
      const principal = await this.deps.tokens.verifyAccess(token);
      // an admin may watch any user's private channels: only while the database still says admin
      const role = await this.currentRole(principal);
      return role === principal.role ? principal : { ...principal, role };
    } catch (e) {
      // a refused token is no login; a store that cannot be asked is not an answer
      if (unreachableStore(e)) throw e;
      return undefined;
    }
  }
}
