/**
 * Bot accounts through the ordinary user path: a bot signs up at the gateway (which also opens and
 * funds its account in the engine) or, when the username exists from an earlier run, logs in.
 * @module
 */

/** Gives a bot's username its user id, creating the account when needed. */
export interface BotAccounts {
  userIdFor(username: string, signal?: AbortSignal): Promise<string>;
}

/** Thrown when the gateway answers but refuses both sign-up and log-in. */
export class BotAccountError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = "BotAccountError";
  }
}

async function detail(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    return body.detail ?? body.message ?? text;
  } catch {
    return text.slice(0, 200);
  }
}

/** Bot accounts at a gateway (`baseUrl` without `/v1`). */
export function gatewayAccounts(
  baseUrl: string,
  passwordFor: (username: string) => Promise<string> | string,
  fetchFn: typeof fetch = fetch,
): BotAccounts {
  const root = baseUrl.replace(/\/+$/, "");
  async function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout(10_000);
    return await fetchFn(`${root}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  }
  return {
    async userIdFor(username, signal) {
      const password = await passwordFor(username);
      const signup = await post("/v1/auth/signup", { username, password }, signal);
      if (signup.status === 201 || signup.status === 200) return userIdOf(await signup.json(), username);
      const why = await detail(signup);
      if (signup.status >= 500) {
        throw new BotAccountError(`sign-up of ${username}: ${signup.status} ${why}`, signup.status);
      }
      // most likely the name is taken by this bot's earlier run
      const login = await post("/v1/auth/login", { username, password }, signal);
      if (login.ok) return userIdOf(await login.json(), username);
      throw new BotAccountError(
        `bot ${username} can neither sign up (${signup.status} ${why}) nor log in (${login.status} ${await detail(
          login,
        )}); if the user exists with another password, set KALENCY_BOT_PASSWORD to it`,
        login.status,
      );
    },
  };
}

function userIdOf(body: unknown, username: string): string {
  const id = (body as { user?: { userId?: unknown } })?.user?.userId;
  if (typeof id !== "string" || id === "") {
    throw new BotAccountError(`the gateway's answer for ${username} has no user.userId`);
  }
  return id;
}

/**
 * A bot's password when KALENCY_BOT_PASSWORD is not set: derived from the seed and the username, so
 * a restart with the same seed logs the same bots in.
 */
export async function derivedPassword(seed: string, username: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`kalency-bot\u0000${seed}\u0000${username}`),
  );
  return `sim-${
    [...new Uint8Array(digest)].slice(0, 16).map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}
