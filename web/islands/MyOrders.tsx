import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  GatewayError,
  type Order as OrderT,
  OrderEvent,
  parsePayload,
  type Trade,
} from "../gateway_client.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { tabKeyTarget } from "../utils/tab_keys.ts";
import { formatRounded, formatStep, isZero } from "../utils/decimal.ts";
import { attachFills, mergeFills } from "../utils/fills.ts";
import { refocusAfterRemoval } from "../utils/focus.ts";
import { clock, dayClock, gateway, marketSocket, useMounted, useSession } from "../utils/live.ts";
import { orderStatusText } from "../utils/order_status.ts";

/** Formatting facts per symbol. */
export type MarketSteps = Record<string, { tickSize: string; stepSize: string; base: string; quote: string }>;

export interface MyOrdersProps {
  gatewayUrl: string;
  markets: MarketSteps;
  /** On a trade page: the page's market, offered as a filter. */
  symbol?: string;
  /** The full-page variant (orders page): more rows, dates with times. */
  full?: boolean;
}

type Tab = "open" | "history" | "fills";
/** Paging back: idle, loading, done (nothing older), or the error of the last try. */
type OlderState = "idle" | "loading" | "done" | string;

/** The row under a list that loads its older pages, or says there are none. */
function OlderRow({ noun, state, onMore }: { noun: string; state: OlderState; onMore: () => void }) {
  return (
    <p class="more-row">
      {state === "done"
        ? <span class="muted" role="status">No older {noun}</span>
        : (
          <button type="button" class="btn-link" disabled={state === "loading"} onClick={onMore}>
            {state === "loading" ? "Loading…" : `Older ${noun}`}
          </button>
        )}
      {state !== "idle" && state !== "loading" && state !== "done" && (
        <span class="field-error" role="alert">{state}</span>
      )}
    </p>
  );
}
const OPEN = new Set(["ACCEPTED", "PARTIALLY_FILLED", "NEW"]);

/** `list` with `order` in place of its row (or first); a live update has no fills: the row's stay. */
function upsert(list: OrderT[], order: OrderT): OrderT[] {
  const i = list.findIndex((o) => o.orderId === order.orderId);
  if (i < 0) return [order, ...list];
  const next = list.slice();
  const kept = list[i].fills;
  next[i] = order.fills === undefined && kept !== undefined ? { ...order, fills: kept } : order;
  return next;
}

/**
 * The user's orders: open ones (with cancel), history with fill amounts and average prices, and
 * fills. Live through the private `orders.{userId}` channel.
 */
/** The open orders' cancel buttons, and where the focus goes when none is left. */
const CANCEL_BUTTONS = '[data-testid="open-orders"] tr[data-order-id] button';
const OPEN_TAB = "#tab-open";

export default function MyOrders({ gatewayUrl, markets, symbol, full }: MyOrdersProps) {
  const { session, ready } = useSession();
  const mounted = useMounted();
  const [tab, setTab] = useState<Tab>("open");
  const [onlyThis, setOnlyThis] = useState(!!symbol);
  const [open, setOpen] = useState<OrderT[]>([]);
  const [history, setHistory] = useState<OrderT[]>([]);
  /** Every fill loaded so far, newest first: the newest page (again after each trade) and older pages. */
  const [fills, setFills] = useState<Trade[] | undefined>(undefined);
  /** Whether the last page loaded was full, so older fills may exist (full page only). */
  const [hasOlder, setHasOlder] = useState(false);
  const [older, setOlder] = useState<OlderState>("idle");
  /** Orders or fills per page. */
  const pageSize = full ? 200 : 50;
  const [error, setError] = useState("");
  const [rowError, setRowError] = useState<Record<string, string>>({});
  const [cancelling, setCancelling] = useState<Record<string, boolean>>({});
  const [cancellingAll, setCancellingAll] = useState(false);
  /** The open orders as last drawn, for answers that arrive after the list changed. */
  const openRef = useRef(open);
  openRef.current = open;
  /** The row of the cancel whose answer is awaited: if the list loses that row first, the focus moves. */
  const cancelRow = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (cancelRow.current !== undefined) refocusAfterRemoval(CANCEL_BUTTONS, cancelRow.current, OPEN_TAB);
  }, [open]);
  /** Where older orders start: undefined before the first page, null when there are none. */
  const [historyCursor, setHistoryCursor] = useState<string | null | undefined>(undefined);
  const [olderOrders, setOlderOrders] = useState<OlderState>("idle");
  const [expanded, setExpanded] = useState<Record<string, boolean>>({});
  const userId = session?.user.userId;

  useEffect(() => {
    if (!userId) return;
    const gw = gateway(gatewayUrl);
    const load = async () => {
      try {
        const [o, h] = await Promise.all([gw.openOrders(), gw.orderHistoryPage(pageSize)]);
        setOpen(o);
        // the newest page again: older pages loaded meanwhile stay
        setHistory((list) => h.orders.reduceRight((l, order) => upsert(l, order), list));
        setHistoryCursor((c) => c === undefined ? h.nextCursor ?? null : c);
        setError("");
      } catch (e) {
        setError((e as Error).message);
      }
      gw.fills(pageSize).then((page) => {
        setFills((list) => mergeFills(list ?? [], page));
        setHasOlder(page.length >= pageSize);
      }).catch(() => setFills(undefined));
    };
    setFills(undefined);
    setOlder("idle");
    setHistory([]);
    setHistoryCursor(undefined);
    setOlderOrders("idle");
    void load();
    return marketSocket(gatewayUrl).subscribe(`orders.${userId}`, (m) => {
      if (m.type === "subscribed") return void load();
      const items = Array.isArray(m.data) ? m.data : [m.data];
      for (const item of items) {
        const ev = parsePayload(OrderEvent, item);
        if (!ev) continue;
        const order = ev.order;
        setOpen((list) =>
          OPEN.has(order.status) ? upsert(list, order) : list.filter((o) => o.orderId !== order.orderId)
        );
        setHistory((list) => upsert(list, order));
        if (ev.event === "TRADE") {
          gw.fills(pageSize).then((page) => {
            setFills((list) => mergeFills(list ?? [], page));
            // the history rows show their fills too
            setHistory((list) => attachFills(list, page));
          }).catch(() => {});
        }
      }
    });
  }, [gatewayUrl, userId]);

  /** The open orders' cancel buttons, and where the focus goes when none is left. */

  /**
   * Cancels one order; the focus moves to the next row's cancel button (the row goes away). The row
   * may go before the answer (the orders channel saw the cancel, or a fill that closed the order):
   * the focus moves then, and an error for a row that is gone is said above the list.
   */
  async function cancel(orderId: string, row: number) {
    if (cancelling[orderId]) return;
    setCancelling((c) => ({ ...c, [orderId]: true }));
    setRowError((r) => ({ ...r, [orderId]: "" }));
    setError("");
    cancelRow.current = row;
    try {
      const ack = await gateway(gatewayUrl).cancelOrder(orderId);
      setOpen((list) => list.filter((o) => o.orderId !== orderId));
      setHistory((list) => upsert(list, ack));
      refocusAfterRemoval(CANCEL_BUTTONS, row, OPEN_TAB);
    } catch (e) {
      const message = e instanceof GatewayError ? e.message : String(e);
      if (openRef.current.some((o) => o.orderId === orderId)) {
        setRowError((r) => ({ ...r, [orderId]: message }));
      } else {
        setError(
          e instanceof GatewayError && e.code === "UNKNOWN_ORDER"
            ? `Order ${orderId} closed (filled or cancelled) before the cancel reached it.`
            : `Order ${orderId}: ${message}`,
        );
        refocusAfterRemoval(CANCEL_BUTTONS, row, OPEN_TAB);
      }
    } finally {
      setCancelling((c) => ({ ...c, [orderId]: false }));
      cancelRow.current = undefined;
    }
  }

  /** Cancels every shown open order: one cancel-all per symbol among them. */
  async function cancelShown(symbols: string[]) {
    const what = symbols.length === 1 ? `every open ${symbols[0]} order` : "every open order shown";
    if (cancellingAll || !globalThis.confirm(`Cancel ${what}?`)) return;
    setCancellingAll(true);
    setError("");
    try {
      for (const s of symbols) {
        const canceled = await gateway(gatewayUrl).cancelAll(s);
        const ids = new Set(canceled.map((o) => o.orderId));
        setOpen((list) => list.filter((o) => !ids.has(o.orderId)));
        setHistory((list) => canceled.reduce((l, o) => upsert(l, o), list));
      }
      // the button goes with the last open order: the focus stays on the open orders
      refocusAfterRemoval(CANCEL_BUTTONS, 0, OPEN_TAB);
    } catch (e) {
      setError(e instanceof GatewayError ? e.message : String(e));
    } finally {
      setCancellingAll(false);
    }
  }

  const steps = (s: string) =>
    markets[s] ?? { tickSize: "0.00000001", stepSize: "0.00000001", base: "", quote: "" };
  const when = (ms?: number) => {
    if (ms === undefined) return "—";
    return full ? dayClock(ms, mounted) : clock(ms, mounted);
  };
  const filter = <T extends { symbol: string }>(list: T[]) =>
    onlyThis && symbol ? list.filter((o) => o.symbol === symbol) : list;
  // Newest first everywhere, as exchanges list them.
  const newest = (a: OrderT, b: OrderT) => (b.createdAt ?? b.ts ?? 0) - (a.createdAt ?? a.ts ?? 0);
  const shownOpen = filter(open).sort(newest), shownHistory = filter(history).sort(newest);
  const shownFills = filter(fills ?? []);

  async function loadOlderOrders() {
    if (!historyCursor) return;
    setOlderOrders("loading");
    try {
      const page = await gateway(gatewayUrl).orderHistoryPage(pageSize, historyCursor);
      setHistory((list) =>
        page.orders.reduce((l, o) => l.some((x) => x.orderId === o.orderId) ? l : [...l, o], list)
      );
      setHistoryCursor(page.nextCursor ?? null);
      setOlderOrders(page.nextCursor ? "idle" : "done");
    } catch (e) {
      setOlderOrders(e instanceof GatewayError ? e.message : String(e));
    }
  }

  async function loadOlderFills() {
    const oldest = fills?.[fills.length - 1];
    if (!oldest) return;
    setOlder("loading");
    try {
      const page = await gateway(gatewayUrl).fills(pageSize, oldest.tradeId);
      setFills((list) => mergeFills(list ?? [], page));
      setHasOlder(page.length >= pageSize);
      setOlder(page.length < pageSize ? "done" : "idle");
    } catch (e) {
      setOlder(e instanceof GatewayError ? e.message : String(e));
    }
  }

  const tabs: [Tab, string, number | undefined][] = [
    ["open", "Open orders", shownOpen.length],
    ["history", "Order history", undefined],
    ["fills", "Fills", undefined],
  ];

  /** The tabs' keys (WAI-ARIA tabs): Left/Right move to the previous/next tab, Home/End to the ends. */
  const onTabKey = (e: KeyboardEvent) => {
    const at = tabs.findIndex(([t]) => t === tab);
    const next = tabKeyTarget(e.key, at, tabs.length);
    if (next === undefined) return;
    e.preventDefault();
    setTab(tabs[next][0]);
    document.getElementById(`tab-${tabs[next][0]}`)?.focus();
  };

  return (
    <section class={`panel my-orders ${full ? "full" : ""}`} aria-label="Your orders">
      <div class="panel-head tabs-head">
        <div class="tabs" role="tablist" aria-label="Your orders" onKeyDown={onTabKey}>
          {tabs.map(([t, label, count]) => (
            <button
              type="button"
              role="tab"
              id={`tab-${t}`}
              aria-selected={tab === t}
              // only the chosen tab's panel is drawn (and only for a logged-in user)
              aria-controls={tab === t && session ? `panel-${t}` : undefined}
              tabIndex={tab === t ? 0 : -1}
              class={tab === t ? "on" : ""}
              onClick={() => setTab(t)}
            >
              {label}
              {count !== undefined && session && <span class="count">{count}</span>}
            </button>
          ))}
        </div>
        {tab === "open" && session && shownOpen.length > 0 && (
          <ActionButton
            class="btn small ghost"
            data-testid="cancel-all"
            unavailable={cancellingAll}
            onClick={() => cancelShown([...new Set(shownOpen.map((o) => o.symbol))])}
          >
            {cancellingAll ? "Cancelling…" : "Cancel all"}
          </ActionButton>
        )}
        {symbol && (
          <label class="check">
            <input
              type="checkbox"
              checked={onlyThis}
              onChange={(e) => setOnlyThis((e.target as HTMLInputElement).checked)}
            />
            {symbol} only
          </label>
        )}
      </div>
      {!ready ? <p class="empty">Loading…</p> : !session
        ? (
          <p class="empty">
            <a href="/login">Log in</a> to see your orders.
          </p>
        )
        : (
          <div class="table-scroll" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
            {error && <p class="field-error" role="alert">{error}</p>}
            {tab === "open" && (
              <table class="data" data-testid="open-orders">
                <thead>
                  <tr>
                    <th scope="col" class="hide-xs">Time</th>
                    <th scope="col">Pair</th>
                    <th scope="col">Side</th>
                    <th scope="col" class="hide-sm">Type</th>
                    <th scope="col" class="num">Price</th>
                    <th scope="col" class="num">Amount</th>
                    <th scope="col" class="num hide-xs">Filled</th>
                    <th scope="col">
                      <span class="sr-only">Cancel</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {shownOpen.length === 0 && (
                    <tr>
                      <td colSpan={8} class="empty">No open orders</td>
                    </tr>
                  )}
                  {shownOpen.map((o, row) => {
                    const m = steps(o.symbol);
                    return (
                      <tr key={o.orderId} data-order-id={o.orderId}>
                        <td class="mono muted hide-xs">{when(o.createdAt ?? o.ts)}</td>
                        <td>{o.symbol}</td>
                        <td class={o.side === "BUY" ? "buy" : "sell"}>{o.side === "BUY" ? "Buy" : "Sell"}</td>
                        <td class="hide-sm">{o.type.toLowerCase()}{o.postOnly ? " · post" : ""}</td>
                        <td class="num">{o.price ? formatStep(o.price, m.tickSize) : "market"}</td>
                        <td class="num">{formatStep(o.qty, m.stepSize)}</td>
                        <td class="num hide-xs">{formatStep(o.filledQty, m.stepSize)}</td>
                        <td class="num">
                          <ActionButton
                            class="btn small ghost"
                            onClick={() => cancel(o.orderId, row)}
                            unavailable={cancelling[o.orderId]}
                            aria-label={`Cancel ${o.side.toLowerCase()} ${o.qty} ${o.symbol} at ${
                              o.price ?? "market"
                            }`}
                          >
                            {cancelling[o.orderId] ? "Cancelling…" : "Cancel"}
                          </ActionButton>
                          {rowError[o.orderId] && (
                            <span class="field-error" role="alert">{rowError[o.orderId]}</span>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
            {tab === "history" && (
              <table class="data" data-testid="order-history">
                <thead>
                  <tr>
                    <th scope="col" class="hide-xs">Time</th>
                    <th scope="col">Pair</th>
                    <th scope="col">Side</th>
                    <th scope="col" class="hide-sm">Type</th>
                    <th scope="col" class="num">Price</th>
                    <th scope="col" class="num">Amount</th>
                    <th scope="col" class="num hide-xs">Filled</th>
                    <th scope="col" class="num hide-xs">Avg price</th>
                    <th scope="col">Status</th>
                    <th scope="col">
                      <span class="sr-only">Fills</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {shownHistory.length === 0 && (
                    <tr>
                      <td colSpan={10} class="empty">No orders yet</td>
                    </tr>
                  )}
                  {shownHistory.map((o) => {
                    const m = steps(o.symbol);
                    const fillCount = o.fills?.length ?? 0;
                    const open = expanded[o.orderId];
                    return (
                      <Fragment key={o.orderId}>
                        <tr data-order-id={o.orderId}>
                          <td class="mono muted hide-xs">{when(o.createdAt ?? o.ts)}</td>
                          <td>{o.symbol}</td>
                          <td class={o.side === "BUY" ? "buy" : "sell"}>
                            {o.side === "BUY" ? "Buy" : "Sell"}
                          </td>
                          <td class="hide-sm">
                            {o.type.toLowerCase()}
                            {o.timeInForce && o.type === "LIMIT" ? ` · ${o.timeInForce}` : ""}
                            {o.postOnly ? " · post" : ""}
                          </td>
                          <td class="num">{o.price ? formatStep(o.price, m.tickSize) : "market"}</td>
                          <td class="num">{formatStep(o.qty, m.stepSize)}</td>
                          <td class="num hide-xs">{formatStep(o.filledQty, m.stepSize)}</td>
                          <td class="num hide-xs">
                            {o.avgPrice && !isZero(o.avgPrice) ? formatRounded(o.avgPrice, m.tickSize) : "—"}
                          </td>
                          <td>
                            <span class={`status s-${o.status.toLowerCase()}`}>
                              {orderStatusText(o)}
                            </span>
                          </td>
                          <td class="num">
                            {fillCount > 0 && (
                              <button
                                type="button"
                                class="btn small ghost"
                                aria-expanded={!!open}
                                aria-controls={`fills-${o.orderId}`}
                                onClick={() => setExpanded((x) => ({ ...x, [o.orderId]: !open }))}
                              >
                                {fillCount} {fillCount === 1 ? "fill" : "fills"} {open ? "▴" : "▾"}
                              </button>
                            )}
                          </td>
                        </tr>
                        {open && (
                          <tr class="fills-row" id={`fills-${o.orderId}`}>
                            <td colSpan={10}>
                              <table class="data compact">
                                <thead>
                                  <tr>
                                    <th scope="col">Fill time</th>
                                    <th scope="col" class="num">Price</th>
                                    <th scope="col" class="num">Amount</th>
                                    <th scope="col" class="num">Fee</th>
                                    <th scope="col">Role</th>
                                  </tr>
                                </thead>
                                <tbody>
                                  {o.fills!.map((f) => {
                                    const maker = f.makerOrderId === o.orderId;
                                    return (
                                      <tr key={f.tradeId}>
                                        <td class="mono muted">{when(f.ts)}</td>
                                        <td class="num">{formatStep(f.price, m.tickSize)}</td>
                                        <td class="num">{formatStep(f.qty, m.stepSize)}</td>
                                        <td class="num">
                                          {(maker ? f.makerFee : f.takerFee) ?? "0"} {f.feeAsset ?? m.quote}
                                        </td>
                                        <td>{maker ? "maker" : "taker"}</td>
                                      </tr>
                                    );
                                  })}
                                </tbody>
                              </table>
                            </td>
                          </tr>
                        )}
                      </Fragment>
                    );
                  })}
                </tbody>
              </table>
            )}
            {tab === "history" && full && (historyCursor || olderOrders !== "idle") && (
              <OlderRow noun="orders" state={olderOrders} onMore={loadOlderOrders} />
            )}
            {tab === "fills" && (
              <>
                <table class="data" data-testid="fills">
                  <thead>
                    <tr>
                      <th scope="col" class="hide-xs">Time</th>
                      <th scope="col">Pair</th>
                      <th scope="col">Side</th>
                      <th scope="col" class="num">Price</th>
                      <th scope="col" class="num">Amount</th>
                      <th scope="col" class="num hide-xs">Fee</th>
                      <th scope="col" class="hide-sm">Role</th>
                    </tr>
                  </thead>
                  <tbody>
                    {fills === undefined && (
                      <tr>
                        <td colSpan={7} class="empty">Fills are not available right now.</td>
                      </tr>
                    )}
                    {fills !== undefined && shownFills.length === 0 && (
                      <tr>
                        <td colSpan={7} class="empty">No fills yet</td>
                      </tr>
                    )}
                    {shownFills.map((f) => {
                      const m = steps(f.symbol);
                      const maker = f.makerUserId === userId;
                      const buyer = f.buyerUserId
                        ? f.buyerUserId === userId
                        : maker
                        ? f.takerSide === "SELL"
                        : f.takerSide === "BUY";
                      return (
                        <tr key={f.tradeId} data-trade-id={f.tradeId}>
                          <td class="mono muted hide-xs">{when(f.ts)}</td>
                          <td>{f.symbol}</td>
                          <td class={buyer ? "buy" : "sell"}>{buyer ? "Buy" : "Sell"}</td>
                          <td class="num">{formatStep(f.price, m.tickSize)}</td>
                          <td class="num">{formatStep(f.qty, m.stepSize)}</td>
                          <td class="num hide-xs">
                            {(maker ? f.makerFee : f.takerFee) ?? "0"} {f.feeAsset ?? m.quote}
                          </td>
                          <td class="hide-sm">{maker ? "maker" : "taker"}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
                {full && (hasOlder || older !== "idle") && (
                  <OlderRow noun="fills" state={older} onMore={loadOlderFills} />
                )}
              </>
            )}
          </div>
        )}
    </section>
  );
}
