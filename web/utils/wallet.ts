/**
 * Keeps the shared `balances` store filled for the logged-in user: the REST wallet first, then every
 * change from the private `wallet.{userId}` channel (and a refetch after each reconnect).
 * @module
 */
import { useEffect } from "preact/hooks";
import * as z from "zod/mini";
import { parsePayload } from "../gateway_client.ts";
import { balances, gateway, marketSocket } from "./live.ts";
import type { StoredSession } from "./session.ts";

const WalletSnapshot = z.object({
  balances: z.array(z.object({ asset: z.string(), free: z.string(), locked: z.string() })),
});
const WalletChange = z.object({
  asset: z.string(),
  free: z.string(),
  locked: z.string(),
});

/** Loads the wallet and follows it live; `onChange` hears each change (for postings lists). */
export function useWallet(
  gatewayUrl: string,
  session: StoredSession | undefined,
  onChange?: (change: unknown) => void,
): void {
  const userId = session?.user.userId;
  useEffect(() => {
    if (!userId) return;
    let alive = true;
    const load = async () => {
      try {
        const w = await gateway(gatewayUrl).wallet();
        if (!alive) return;
        balances.set(
          Object.fromEntries(w.balances.map((b) => [b.asset, { free: b.free, locked: b.locked }])),
        );
      } catch {
        // shown as "—" until the next change arrives
      }
    };
    void load();
    const stop = marketSocket(gatewayUrl).subscribe(`wallet.${userId}`, (m) => {
      if (m.type === "subscribed") return;
      if (m.type === "snapshot") {
        // Each (re)subscription starts with the whole wallet.
        const w = parsePayload(WalletSnapshot, m.data);
        if (w) {
          balances.set(
            Object.fromEntries(w.balances.map((b) => [b.asset, { free: b.free, locked: b.locked }])),
          );
        }
        return;
      }
      const items = Array.isArray(m.data) ? m.data : [m.data];
      for (const item of items) {
        const c = parsePayload(WalletChange, item);
        if (!c) continue;
        balances.set({ ...balances.get(), [c.asset]: { free: c.free, locked: c.locked } });
        onChange?.(item);
      }
    });
    return () => {
      alive = false;
      stop();
    };
  }, [gatewayUrl, userId]);
}
