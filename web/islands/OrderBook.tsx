import { useEffect, useRef, useState } from "preact/hooks";
import { Book, type Book as BookT, BookDelta, parsePayload } from "../gateway_client.ts";
import { addDecimal, formatPlaces, formatStep } from "../utils/decimal.ts";
import { bookLevels, gateway, marketSocket, pickedPrice } from "../utils/live.ts";
import type { MarketInfo } from "../utils/market.ts";
import {
  applyDelta,
  bestPrices,
  bookFromSnapshot,
  type BookState,
  type DepthLevel,
  spreadOf,
  topLevels,
} from "../utils/order_book.ts";

export interface OrderBookProps {
  gatewayUrl: string;
  market: MarketInfo;
  book: BookT;
  /** Levels shown per side. */
  depth: number;
}

/**
 * The order book of one market: the server's snapshot first, then `book.{symbol}` deltas applied in
 * sequence. A gap in `seq` drops the channel and resubscribes, which brings a fresh snapshot (and, if
 * none comes quickly, the REST snapshot is used). Clicking a level puts its price in the order form.
 */
export default function OrderBook({ gatewayUrl, market, book: initial, depth }: OrderBookProps) {
  const state = useRef<BookState>(bookFromSnapshot(initial));
  const [view, setView] = useState(() => topLevels(state.current, depth));
  const [syncing, setSyncing] = useState(false);
  const frame = useRef<number | undefined>(undefined);
  /** The one level button in the tab order (the arrow keys move it); the best ask at first. */
  const [active, setActive] = useState<string | undefined>(undefined);
  // Where keyboard focus was in the book: a level that leaves the book takes its button with it,
  // and focus would fall to the page; it goes to the button now at that place instead.
  const focusedAt = useRef<number | undefined>(undefined);
  const levelsRef = useRef<HTMLElement>(null);
  useEffect(() => {
    const at = focusedAt.current;
    if (at === undefined || document.activeElement !== document.body) return;
    const buttons = levelsRef.current?.querySelectorAll<HTMLButtonElement>(".levels button");
    if (buttons?.length) buttons[Math.min(at, buttons.length - 1)]!.focus();
  });
  // focus or a click elsewhere means the user left the book: nothing to restore then
  useEffect(() => {
    const left = (e: Event) => {
      if (!levelsRef.current?.contains(e.target as Node)) focusedAt.current = undefined;
    };
    document.addEventListener("focusin", left);
    document.addEventListener("pointerdown", left);
    return () => {
      document.removeEventListener("focusin", left);
      document.removeEventListener("pointerdown", left);
    };
  }, []);
  // the order form estimates market orders from the same levels
  useEffect(() => bookLevels.set({ symbol: market.symbol, ...view }), [view]);

  useEffect(() => {
    const channel = `book.${market.symbol}`;
    const socket = marketSocket(gatewayUrl);
    let fallback: ReturnType<typeof setTimeout> | undefined;
    let waitingForSnapshot = false;
    // Snapshots carry only the top levels; when a side that was cut off thins out, the levels
    // behind it are unknown here, so a fresh snapshot is asked for (at most every 2 s).
    let cutOff = { bids: initial.bids.length >= depth, asks: initial.asks.length >= depth };
    let lastRefill = 0;
    const render = () => {
      // One repaint per animation frame however many deltas arrive.
      frame.current ??= requestAnimationFrame(() => {
        frame.current = undefined;
        setView(topLevels(state.current, depth));
      });
    };
    const useSnapshot = (b: BookT) => {
      if (b.seq < state.current.seq && !waitingForSnapshot) return;
      state.current = bookFromSnapshot(b);
      cutOff = { bids: b.bids.length >= depth, asks: b.asks.length >= depth };
      waitingForSnapshot = false;
      clearTimeout(fallback);
      setSyncing(false);
      render();
    };
    const resync = () => {
      if (waitingForSnapshot) return;
      waitingForSnapshot = true;
      setSyncing(true);
      socket.resubscribe(channel);
      fallback = setTimeout(async () => {
        try {
          useSnapshot(await gateway(gatewayUrl).book(market.symbol, Math.max(depth, 50)));
        } catch {
          // stays "resyncing" until the socket delivers a snapshot
        }
      }, 2000);
    };
    const stop = socket.subscribe(channel, (m) => {
      if (m.type === "subscribed") return;
      if (m.type === "snapshot") {
        const b = parsePayload(Book, m.data);
        if (b) useSnapshot({ ...b, seq: m.seq ?? b.seq });
        return;
      }
      if (waitingForSnapshot) return;
      const d = parsePayload(BookDelta, m.data);
      if (!d) return;
      const result = applyDelta(state.current, { ...d, seq: m.seq ?? d.seq });
      if (result === "applied") {
        render();
        const thin = (cutOff.bids && state.current.bids.size < depth) ||
          (cutOff.asks && state.current.asks.size < depth);
        if (thin && Date.now() - lastRefill > 2000) {
          lastRefill = Date.now();
          socket.resubscribe(channel);
        }
      } else if (result === "gap") resync();
    });
    return () => {
      stop();
      clearTimeout(fallback);
      if (frame.current !== undefined) cancelAnimationFrame(frame.current);
    };
  }, [gatewayUrl, market.symbol, depth]);

  const { bid, ask } = bestPrices(state.current);
  const { spread, spreadPct } = spreadOf(bid, ask) ?? {};
  const pick = (price: string) => pickedPrice.set({ price, at: Date.now() });
  const levelKeys = [...view.asks.map((l) => `ask:${l.price}`), ...view.bids.map((l) => `bid:${l.price}`)];
  const tabStop = active !== undefined && levelKeys.includes(active)
    ? active
    : view.asks.length
    ? `ask:${view.asks[0].price}`
    : levelKeys[0];
  // The book is one Tab stop: the arrow keys, Home and End move between its prices, Enter picks one.
  const onKeyDown = (e: KeyboardEvent) => {
    const step = { ArrowUp: -1, ArrowDown: 1, Home: -Infinity, End: Infinity }[e.key];
    if (step === undefined) return;
    const buttons = [
      ...(e.currentTarget as HTMLElement).querySelectorAll<HTMLButtonElement>(".levels button"),
    ];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    e.preventDefault();
    const next = buttons[Math.min(buttons.length - 1, Math.max(0, at + step))];
    setActive(next.dataset.key);
    next.focus();
  };

  const rows = (levels: DepthLevel[], side: "bid" | "ask") => {
    let sum = "0";
    const withSum = levels.map((l) => ({ ...l, sum: sum = addDecimal(sum, l.qty) }));
    const ordered = side === "ask" ? withSum.reverse() : withSum;
    return ordered.map((l) => (
      <li key={l.price} class={`level ${side}`} style={{ "--d": `${(l.depth * 100).toFixed(1)}%` }}>
        <button
          type="button"
          data-key={`${side}:${l.price}`}
          tabIndex={tabStop === `${side}:${l.price}` ? 0 : -1}
          onFocus={(e) => {
            setActive(`${side}:${l.price}`);
            const buttons = [...(levelsRef.current?.querySelectorAll(".levels button") ?? [])];
            focusedAt.current = buttons.indexOf(e.currentTarget as HTMLButtonElement);
          }}
          onClick={() =>
            pick(l.price)}
          aria-describedby="book-keys"
        >
          {/* the name is the visible figures with their words, so voice control finds what is seen */}
          <span class={`num price ${side === "bid" ? "buy" : "sell"}`}>
            {formatStep(l.price, market.tickSize)}
            <span class="sr-only">{` ${market.quote} ${side},`}</span>
          </span>
          <span class="num">
            {formatStep(l.qty, market.stepSize)}
            <span class="sr-only">{` ${market.base}`}</span>
          </span>
          {/* the comma goes with the sum, which a phone's width hides: no name ends with one */}
          <span class="num muted hide-xs">
            <span class="sr-only">, sum</span> {formatStep(l.sum, market.stepSize)}
          </span>
        </button>
      </li>
    ));
  };

  return (
    <section
      class="panel book"
      aria-label="Order book"
      data-seq={state.current.seq}
      onKeyDown={onKeyDown}
      ref={levelsRef}
    >
      <div class="panel-head">
        <h2>Order book</h2>
        {syncing && <span class="tag warn" role="status">resyncing</span>}
      </div>
      <div class="book-cols muted" aria-hidden="true">
        <span>Price ({market.quote})</span>
        <span class="num">Amount ({market.base})</span>
        <span class="num hide-xs">Sum</span>
      </div>
      <p class="sr-only" id="book-keys">
        Arrow keys move between the prices; Enter puts one in the order form.
      </p>
      <ol class="levels asks" aria-label="Asks (sell orders), best last">
        {view.asks.length ? rows(view.asks, "ask") : <li class="empty">No sell orders</li>}
      </ol>
      <div class="spread" data-testid="spread">
        <span>Spread</span>
        <span class="num">
          {spread ? formatStep(spread, market.tickSize) : "—"}
          {spreadPct !== undefined && <span class="muted">{` (${formatPlaces(spreadPct, 2, 3)}%)`}</span>}
        </span>
      </div>
      <ol class="levels bids" aria-label="Bids (buy orders), best first">
        {view.bids.length ? rows(view.bids, "bid") : <li class="empty">No buy orders</li>}
      </ol>
    </section>
  );
}
