import assert from "node:assert/strict";
import { GatewayClient, GatewayError, type Session } from "../gateway_client.ts";
import { loadSession, logOut, refreshSession, saveSession, takeSessionEnded } from "./session.ts";

/** A private in-memory localStorage for each test. */
function withStorage(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    const data = new Map<string, string>();
    const fake = {
      getItem: (k: string) => data.get(k) ?? null,
      setItem: (k: string, v: string) => void data.set(k, String(v)),
      removeItem: (k: string) => void data.delete(k),
    };
    const before = Object.getOwnPropertyDescriptor(globalThis, "localStorage");
    Object.defineProperty(globalThis, "localStorage", { value: fake, configurable: true });
    try {
      await fn();
    } finally {
      if (before) Object.defineProperty(globalThis, "localStorage", before);
      else delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  };
}

const session: Session = {
  user: { userId: "usr_1", username: "ann", role: "user" },
  accessToken: "at_1",
  refreshToken: "rt_1",
  expiresIn: 900,
};

Deno.test(
  "logOut() revokes the refresh token at the gateway, then forgets the session",
  withStorage(async () => {
    saveSession(session);
    const revoked: string[] = [];
    await logOut({
      logout: (rt) => {
        revoked.push(rt);
        assert.ok(loadSession(), "the session is still there while the gateway is asked");
        return Promise.resolve();
      },
    });
    assert.deepEqual(revoked, ["rt_1"]);
    assert.equal(loadSession(), undefined);
  }),
);

Deno.test(
  "logOut() forgets the session when the gateway cannot be reached or does not answer",
  withStorage(async () => {
    saveSession(session);
    await logOut({ logout: () => Promise.reject(new TypeError("Failed to fetch")) });
    assert.equal(loadSession(), undefined);
    saveSession(session);
    await logOut({ logout: () => new Promise(() => {}) }, 10);
    assert.equal(loadSession(), undefined);
    assert.equal(takeSessionEnded(), false, "a log out is no ended session");
  }),
);

function refusingClient(error: Error): GatewayClient {
  const client = new GatewayClient({ baseUrl: "http://gw" });
  client.refresh = () => Promise.reject(error);
  return client;
}

Deno.test(
  "refreshSession() ends the session the gateway refused, and says so once",
  withStorage(async () => {
    saveSession(session);
    const revoked = new GatewayError(401, { code: "REFRESH_TOKEN_REVOKED", detail: "revoked" });
    assert.equal(await refreshSession(refusingClient(revoked), "at_1"), false);
    assert.equal(loadSession(), undefined);
    assert.equal(takeSessionEnded(), true);
    assert.equal(takeSessionEnded(), false, "once");
    // a new login forgets an ending nobody was told about
    saveSession(session);
    await refreshSession(refusingClient(revoked), "at_1");
    saveSession(session);
    assert.equal(takeSessionEnded(), false);
  }),
);

Deno.test(
  "refreshSession() keeps the session when the gateway cannot be reached",
  withStorage(async () => {
    saveSession(session);
    assert.equal(await refreshSession(refusingClient(new TypeError("Failed to fetch")), "at_1"), false);
    assert.equal(loadSession()?.refreshToken, "rt_1");
    const busy = new GatewayError(503, { code: "UNAVAILABLE" });
    assert.equal(await refreshSession(refusingClient(busy), "at_1"), false);
    assert.equal(loadSession()?.refreshToken, "rt_1");
    assert.equal(takeSessionEnded(), false);
  }),
);
