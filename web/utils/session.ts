/**
 * The browser session: the gateway's access and refresh tokens in localStorage (key
 * `kalency.session`), shared by every island and every tab. Refreshing is single-flight across tabs
 * (Web Locks), because the gateway rotates refresh tokens and treats a reused one as theft.
 * Everything here is a no-op on the server.
 * @module
 */
import { type GatewayClient, GatewayError, type Session, type User } from "../gateway_client.ts";

const KEY = "kalency.session";
const CHANGED = "kalency:session";
/** Set when the gateway ended the session, until a page has said so. */
const ENDED = "kalency.sessionEnded";
/** How long a log out waits for the gateway before it forgets the session anyway. */
const LOGOUT_WAIT_MS = 3000;

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
  storage()?.removeItem(ENDED);
  globalThis.dispatchEvent?.(new Event(CHANGED));
  return stored;
}

/** Forgets the session; `ended` when the gateway ended it (the next page says so, once). */
export function clearSession(ended = false): void {
  if (ended) storage()?.setItem(ENDED, "1");
  storage()?.removeItem(KEY);
  globalThis.dispatchEvent?.(new Event(CHANGED));
}

/** True once after the gateway ended the session (its refresh token revoked or expired). */
export function takeSessionEnded(): boolean {
  const s = storage();
  if (!s?.getItem(ENDED)) return false;
  s.removeItem(ENDED);
  return true;
}

/**
 * Logs out: revokes the refresh token at the gateway, then forgets the session, also when the
 * gateway cannot be reached (or takes longer than `waitMs`).
 */
export async function logOut(client: Pick<GatewayClient, "logout">, waitMs = LOGOUT_WAIT_MS): Promise<void> {
  const current = loadSession();
  if (current) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        client.logout(current.refreshToken),
        new Promise((resolve) => timer = setTimeout(resolve, waitMs)),
      ]);
    } catch {
      // offline: the session is forgotten here all the same
    } finally {
      clearTimeout(timer);
    }
  }
  clearSession();
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
      } catch (e) {
        // refused (revoked, reused or expired): the session is over; unreachable: try again later
        if (e instanceof GatewayError && e.status >= 400 && e.status < 500 && e.status !== 429) {
          clearSession(true);
        }
        return false;
      }
    };
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    return locks ? await locks.request("kalency-refresh", run) : await run();
  })().finally(() => inflight = undefined);
  return inflight;
}
