import { createUser, credentialProblems, type User, UserError, verifyCredentials } from "@lib/users";
import type { GatewayDeps, RouteFn } from "../app.ts";
import type { Bucket } from "../rate_limit.ts";
import { ApiError } from "../errors.ts";
import {
  AuthResponse,
  LoginRequest,
  LogoutRequest,
  RefreshRequest,
  SignupRequest,
  TokenRequest,
  TokenResponse,
} from "../schemas.ts";
import type { TokenPair } from "../tokens.ts";

function authBody(user: Pick<User, "userId" | "username" | "role">, tokens: TokenPair) {
  return { user: { userId: user.userId, username: user.username, role: user.role }, ...tokens };
}

function badCredentials(): ApiError {
  return new ApiError(401, "INVALID_CREDENTIALS", "username (or userId) or password is wrong");
}

/** Failed logins one account takes per rate-limit window from one address. */
export const FAILED_LOGINS_PER_ADDRESS = 10;
/** Failed logins one account takes per rate-limit window from all addresses together. */
export const FAILED_LOGINS_PER_ACCOUNT = 100;

/** Signup, login, the original token route, refresh and logout. */
export function authRoutes(route: RouteFn, deps: GatewayDeps): void {
  /**
   * The user a login names, or a 401. Failed logins are counted per account (by the user id the
   * login resolves to, however it is spelled) and address: one address gets
   * {@linkcode FAILED_LOGINS_PER_ADDRESS} guesses a window. Guesses spread over many addresses (a
   * botnet, a proxy's clients) meet the account's limit of {@linkcode FAILED_LOGINS_PER_ACCOUNT}
   * too. Past a limit, those logins get 429 until the window ends, right password or not (else the
   * limit would stop no guess). Someone who knows only a user id (every trade shows them) can thus
   * keep an account's owner out only with many addresses, not with one.
   */
  async function logIn(login: string, password: string, ip: string): Promise<User> {
    const limiter = deps.limiter;
    let buckets: Bucket[] | undefined;
    const user = await verifyCredentials(deps.sql, login, password, async (userId) => {
      // a login naming no account is counted under the name it gives: the same Redis calls as for a
      // real account, so the answer's timing does not tell whether the account exists
      const id = userId ?? `name:${login.toLowerCase()}`;
      buckets = [
        {
          scope: "login",
          id: `${id}@${ip}`,
          limit: FAILED_LOGINS_PER_ADDRESS,
          what: "the limit of failed logins to this account from this address",
        },
        {
          scope: "login-account",
          id,
          limit: FAILED_LOGINS_PER_ACCOUNT,
          what: "the limit of failed logins to this account from all addresses",
        },
      ];
      // past a limit: refused before the password is even checked. Counted in Redis at once, so
      // that a burst spread over several gateways meets the same limit as one gateway
      for (const b of buckets) if (await limiter?.isOverShared(b)) await limiter!.checkShared(buckets);
    }, deps.passwords);
    if (!user) {
      if (buckets) await limiter?.checkShared(buckets);
      throw badCredentials();
    }
    return user;
  }

  route({
    method: "post",
    path: "/v1/auth/signup",
    summary: "Create an account (funded with the starting balances) and log in",
    tags: ["auth"],
    auth: "none",
    rateLimit: "auth",
    body: SignupRequest,
    responses: {
      201: { description: "The new user and a token pair", schema: AuthResponse },
      409: { description: "The username is taken (USERNAME_TAKEN)" },
    },
  }, async (c, { body }) => {
    const problems = credentialProblems(body.username, body.password);
    if (problems.length > 0) {
      const errors = problems.map((p) => ({
        field: p.code === "INVALID_PASSWORD" ? "password" : "username",
        message: p.message,
        code: p.code,
      }));
      throw new ApiError(400, problems[0].code, errors.map((e) => e.message).join("; "), {
        field: errors[0].field,
        errors,
      });
    }
    let user: User;
    try {
      user = await createUser(deps.sql, { username: body.username, password: body.password }, {
        hasher: deps.passwords,
      });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      if (e.code === "USERNAME_TAKEN") throw new ApiError(409, e.code, e.message, { field: "username" });
      const field = e.code === "INVALID_PASSWORD" ? "password" : "username";
      throw new ApiError(400, e.code, e.message, { field });
    }
    try {
      const reply = await deps.engine.send({ type: "openAccount", userId: user.userId });
      if (!reply.ok) deps.log.warn("openAccount rejected", { userId: user.userId, reason: reply.reason });
    } catch (e) {
      // the account also opens on the first wallet read, so signup still succeeds
      deps.log.warn("openAccount not confirmed at signup", { userId: user.userId, error: e });
    }
    return c.json(authBody(user, await deps.tokens.issue(user)), 201);
  });

  route({
    method: "post",
    path: "/v1/auth/login",
    summary: "Log in with username and password",
    tags: ["auth"],
    auth: "none",
    rateLimit: "auth",
    body: LoginRequest,
    responses: {
      401: { description: "Wrong username or password (INVALID_CREDENTIALS)" },
      200: { description: "The user and a token pair", schema: AuthResponse },
    },
  }, async (c, { body }) => {
    const user = await logIn(body.username, body.password, deps.clientIp(c));
    return c.json(authBody(user, await deps.tokens.issue(user)));
  });

  route({
    method: "post",
    path: "/v1/auth/token",
    summary: "The original token route; now needs the password too",
    description: "Body {userId, password} (userId may be the user id or the username). Answers the " +
      "original {token} plus the fields of /v1/auth/login.",
    tags: ["auth"],
    auth: "none",
    rateLimit: "auth",
    body: TokenRequest,
    responses: {
      401: { description: "Wrong username or password (INVALID_CREDENTIALS)" },
      200: { description: "token (= accessToken) and a token pair", schema: TokenResponse },
    },
  }, async (c, { body }) => {
    const login = (body.userId ?? body.username ?? "").trim();
    const user = await logIn(login, body.password, deps.clientIp(c));
    const tokens = await deps.tokens.issue(user);
    return c.json({ token: tokens.accessToken, ...authBody(user, tokens) });
  });

  route({
    method: "post",
    path: "/v1/auth/refresh",
    summary: "Exchange a refresh token for a new pair (the old refresh token is revoked)",
    tags: ["auth"],
    auth: "none",
    rateLimit: "auth",
    body: RefreshRequest,
    responses: {
      200: { description: "The user and a new token pair", schema: AuthResponse },
      401: {
        description: "The refresh token is unknown, expired, revoked (REFRESH_TOKEN_REVOKED) or was used " +
          "already (REFRESH_TOKEN_REUSED: every session of the user is signed out)",
      },
    },
  }, async (c, { body }) => {
    const { user, tokens } = await deps.tokens.refresh(body.refreshToken);
    return c.json(authBody(user, tokens));
  });

  route({
    method: "post",
    path: "/v1/auth/logout",
    summary: "Revoke a refresh token, or with a Bearer token and all=true every session",
    tags: ["auth"],
    auth: "none",
    body: LogoutRequest,
    responses: {
      204: { description: "Signed out" },
      401: { description: "`all` without a valid access token (MISSING_AUTHENTICATION, ...)" },
      403: { description: "`all` sent with an API key instead of a login (LOGIN_REQUIRED)" },
    },
  }, async (c, { body }) => {
    if (body.all) {
      const principal = await deps.auth.identify(c);
      if (!principal) {
        throw new ApiError(
          401,
          "MISSING_AUTHENTICATION",
          "all=true needs Authorization: Bearer <access token>",
        );
      }
      if (principal.via !== "jwt") {
        // a bot's key must not sign its owner out of every browser
        throw new ApiError(403, "LOGIN_REQUIRED", "all=true needs a login (Bearer token), not an API key");
      }
      await deps.tokens.revokeAll(principal.userId, "logout-all");
    } else if (body.refreshToken) {
      await deps.tokens.revoke(body.refreshToken);
    } else {
      throw new ApiError(
        400,
        "VALIDATION_FAILED",
        "refreshToken: is required (or all=true with a Bearer token)",
        {
          field: "refreshToken",
        },
      );
    }
    return c.body(null, 204);
  });
}
