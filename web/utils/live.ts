/**
 * Browser-side shared state of a page: one gateway client and one WebSocket for all islands (the
 * build puts this module in a shared chunk, so every island sees the same instances), and tiny
 * stores for what islands tell each other (a clicked book price, the wallet).
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { GatewayClient, type Market, MarketSocket, socketUrl } from "../gateway_client.ts";
import { loadSession, onSessionChange, refreshSession, type StoredSession } from "./session.ts";

let client: GatewayClient | undefined;
let socket: MarketSocket | undefined;

/** The page's gateway client, sending the session's token and refreshing it on a 401. */
export function gateway(baseUrl: string): GatewayClient {
  if (!client || client.baseUrl !== baseUrl.replace(/\/+$/, "")) {
    const c: GatewayClient = new GatewayClient({
      baseUrl,
      auth: {
        token: () => loadSession()?.accessToken,
        refresh: (failed) => refreshSession(c, failed),
        expiresAt: () => loadSession()?.expiresAt,
      },
    });
    client = c;
  }
  return client;
}

/** The page's WebSocket (opened on the first subscription). */
export function marketSocket(baseUrl: string): MarketSocket {
  if (!socket) {
    const s = new MarketSocket(socketUrl(baseUrl), {
      token: () => loadSession()?.accessToken,
      onAuthFailed: (token) => refreshSession(gateway(baseUrl), token),
    });
    onSessionChange(() => s.reauthenticate());
    socket = s;
  }
  return socket;
}

/** A value islands share, with change notification. */
export interface Store<T> {
  get(): T;
  set(value: T): void;
  subscribe(listener: (value: T) => void): () => void;
}

export function createStore<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<(v: T) => void>();
  return {
    get: () => value,
    set(v) {
      value = v;
      for (const l of listeners) l(v);
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

/** The store's current value, re-rendering on change. */
export function useStore<T>(store: Store<T>): T {
  const [value, setValue] = useState(store.get());
  useEffect(() => {
    setValue(store.get());
    return store.subscribe(setValue);
  }, [store]);
  return value;
}

/**
 * The logged-in session. Undefined during the first render (the server cannot know it, and the
 * hydrating render must match the server's markup), then read from storage.
 */
export function useSession(): { session: StoredSession | undefined; ready: boolean } {
  const [state, setState] = useState<{ session: StoredSession | undefined; ready: boolean }>({
    session: undefined,
    ready: false,
  });
  useEffect(() => {
    const read = () => setState({ session: loadSession(), ready: true });
    read();
    return onSessionChange(read);
  }, []);
  return state;
}

/** A price picked in the book or the trades list, for the order form. */
export const pickedPrice = createStore<{ price: string; at: number } | undefined>(undefined);

/** The order book's visible levels (best first), as the OrderBook island last drew them. */
export const bookLevels = createStore<
  | { symbol: string; bids: { price: string; qty: string }[]; asks: { price: string; qty: string }[] }
  | undefined
>(undefined);

/** Free balances by asset, refreshed by whichever island loaded the wallet last. */
export const balances = createStore<Record<string, { free: string; locked: string }>>({});

/** The last trade price of each market as the page's header shows it (live), by symbol. */
export const lastPrices = createStore<Record<string, string>>({});

/** Market statuses seen since the page loaded (an admin may pause a market meanwhile), by symbol. */
export const marketStatuses = createStore<Record<string, string>>({});

/** How often the shared market listing is fetched again. */
export const MARKETS_POLL_MS = 3000;
const marketListeners = new Set<(markets: Market[]) => void>();
let marketTimer: ReturnType<typeof setInterval> | undefined;

/**
 * Calls `listener` with the gateway's market listing every few seconds (while the page is visible),
 * so that markets listed, paused or resumed meanwhile show without a reload. One request per poll
 * however many islands listen; the returned function stops listening.
 */
export function watchMarkets(
  baseUrl: string,
  listener: (markets: Market[]) => void,
  everyMs = MARKETS_POLL_MS,
): () => void {
  marketListeners.add(listener);
  marketTimer ??= setInterval(async () => {
    if (globalThis.document?.hidden) return;
    try {
      const markets = await gateway(baseUrl).markets();
      for (const l of marketListeners) l(markets);
    } catch {
      // the next poll may answer
    }
  }, everyMs);
  return () => {
    marketListeners.delete(listener);
    if (marketListeners.size === 0) {
      clearInterval(marketTimer);
      marketTimer = undefined;
    }
  };
}

/** Colour-blind-safe buy/sell colours (blue/orange) instead of green/red, persisted. */
export const PALETTE_KEY = "kalency.palette";

/** The chart's timeframe, so links to other pairs keep it. */
export const chartTimeframe = createStore<string | undefined>(undefined);

/** False during the server render and the hydrating render, true after (for local times etc.). */
export function useMounted(): boolean {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  return mounted;
}

/** HH:MM:SS of an epoch-ms time: local once mounted, UTC in server markup (times differ by zone). */
export function clock(ms: number, local: boolean): string {
  const d = new Date(ms);
  const parts = local
    ? [d.getHours(), d.getMinutes(), d.getSeconds()]
    : [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  return parts.map(pad2).join(":");
}

/** "MM-DD hh:mm:ss", the day in the same time zone as the time (see {@linkcode clock}). */
export function dayClock(ms: number, local: boolean): string {
  const d = new Date(ms);
  const day = local ? [d.getMonth() + 1, d.getDate()] : [d.getUTCMonth() + 1, d.getUTCDate()];
  return `${day.map(pad2).join("-")} ${clock(ms, local)}`;
}

/** "YYYY-MM-DD hh:mm" in the browser's time zone. */
export function localDateTime(ms: number): string {
  const d = new Date(ms);
  const date = [d.getFullYear(), d.getMonth() + 1, d.getDate()].map(pad2).join("-");
  return `${date} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}
