/**
 * The browser session: the gateway's access and refresh tokens in localStorage (key
 * `kalency.session`), shared by every island and every tab. Refreshing is single-flight across tabs
 * (Web Locks), because the gateway rotates refresh tokens and treats a reused one as theft.
 * Everything here is a no-op on the server.
 * @module
 */
import type { GatewayClient, Session, User } from "../gateway_client.ts";

const KEY = "kalency.session";
const CHANGED = "kalency:session";

export interface StoredSession {
  user: User;
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

/** The stored session, if any. */
export function loadSession(): StoredSession | undefined {
  const text = storage()?.getItem(KEY);
  if (!text) return undefined;
  try {
    const s = JSON.parse(text) as StoredSession;
    return s && s.accessToken && s.refreshToken && s.user ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Stores a session from a login, signup or refresh answer. */
export function saveSession(session: Omit<Session, "user"> & { user?: User }, user?: User): StoredSession {
  const u = session.user ?? user ?? loadSession()?.user;
  if (!u) throw new Error("a session needs its user");
  const stored: StoredSession = {
    user: u,
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    expiresAt: Date.now() + session.expiresIn * 1000,
  };
  storage()?.setItem(KEY, JSON.stringify(stored));
  globalThis.dispatchEvent?.(new Event(CHANGED));
  return stored;
}

/** Forgets the session (log out). */
export function clearSession(): void {
  storage()?.removeItem(KEY);
  globalThis.dispatchEvent?.(new Event(CHANGED));
}

/** Calls `listener` when the session changes in this tab or another one. */
export function onSessionChange(listener: () => void): () => void {
  const onStorage = (e: StorageEvent) => {
    if (e.key === KEY || e.key === null) listener();
  };
  globalThis.addEventListener("storage", onStorage);
  globalThis.addEventListener(CHANGED, listener);
  return () => {
    globalThis.removeEventListener("storage", onStorage);
    globalThis.removeEventListener(CHANGED, listener);
  };
}

let inflight: Promise<boolean> | undefined;

/**
 * Gets a new access token after `failedToken` was refused. Only one refresh runs at a time in all
 * tabs; a caller that finds the token already replaced just retries with the new one.
 */
export function refreshSession(client: GatewayClient, failedToken: string): Promise<boolean> {
  inflight ??= (async () => {
    const run = async () => {
      const current = loadSession();
      if (!current) return false;
      if (current.accessToken !== failedToken) return true; // another tab refreshed already
      try {
        saveSession(await client.refresh(current.refreshToken), current.user);
        return true;
      } catch {
        clearSession();
        return false;
      }
    };
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    return locks ? await locks.request("kalency-refresh", run) : await run();
  })().finally(() => inflight = undefined);
  return inflight;
}
