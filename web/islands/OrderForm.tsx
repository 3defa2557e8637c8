import { useEffect, useRef, useState } from "preact/hooks";
import {
  GatewayError,
  type Order,
  OrderEvent,
  parsePayload,
  type PlaceOrderRequest,
  problemText,
} from "../gateway_client.ts";
import {
  compareDecimal,
  decimalPlaces,
  formatPlaces,
  formatRounded,
  formatStep,
  groupThousands,
  isDecimal,
  isZero,
  mulDecimal,
  subDecimal,
} from "../utils/decimal.ts";
import {
  balances,
  bookLevels,
  gateway,
  lastPrices,
  marketSocket,
  marketStatuses,
  pickedPrice,
  useSession,
  useStore,
  watchMarkets,
} from "../utils/live.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { RadioGroup } from "../components/RadioGroup.tsx";
import type { MarketInfo } from "../utils/market.ts";
import { estimateMarket, feeFor, marketPriceView, notional, presetAmount } from "../utils/order_math.ts";
import { laterState, orderStatusText } from "../utils/order_status.ts";
import { OrderRetry, outcomeUnknown } from "../utils/order_retry.ts";
import { useWallet } from "../utils/wallet.ts";

export interface OrderFormProps {
  gatewayUrl: string;
  market: MarketInfo;
}

type Side = "BUY" | "SELL";
type Type = "LIMIT" | "MARKET";
type Tif = "GTC" | "IOC" | "FOK";
type Field = "price" | "qty" | "quoteQty" | "timeInForce" | "postOnly" | "form";

const PRESETS = [25, 50, 75, 100];
/** The fields in the order the form shows them: the first with an error takes the focus. */
const FIELD_ORDER: readonly Field[] = ["price", "quoteQty", "qty", "timeInForce", "postOnly"];

/** Maps the field a problem names to the input that shows it. */
function fieldOf(name: string | undefined): Field {
  if (
    name === "price" || name === "qty" || name === "quoteQty" || name === "timeInForce" || name === "postOnly"
  ) {
    return name;
  }
  return "form";
}

const UNKNOWN_OUTCOME_ADVICE = "Check your open orders and history before anything else; sending " +
  "this same order again from this form, unchanged, is safe: it will not be placed twice.";

function newClientOrderId(): string {
  return "web-" + crypto.getRandomValues(new Uint32Array(2)).reduce((s, n) => s + n.toString(36), "");
}

/**
 * Place an order: buy or sell, limit or market, post-only and IOC/FOK for limits, amount presets from
 * the wallet, the notional and a fee estimate. The API's error is shown next to the field it names.
 */
const SIDES: readonly Side[] = ["BUY", "SELL"];
const TYPES: readonly Type[] = ["LIMIT", "MARKET"];

/** A market order whose average price is further than this from the last price gets a warning. */
const FAR_FROM_LAST_PCT = 2;

/** Whether `price` is more than `pct` percent away from `ref`, exactly. */
function isFar(price: string, ref: string, pct: number): boolean {
  if (isZero(ref)) return false;
  const diff = subDecimal(price, ref);
  const abs = diff.startsWith("-") ? diff.slice(1) : diff;
  return compareDecimal(mulDecimal(abs, "100"), mulDecimal(ref, String(pct))) > 0;
}

export default function OrderForm({ gatewayUrl, market }: OrderFormProps) {
  const { session, ready } = useSession();
  useWallet(gatewayUrl, session);
  const wallet = useStore(balances);
  const picked = useStore(pickedPrice);
  const book = useStore(bookLevels);
  // the header's live last price; the page's until the first trade arrives
  const last = useStore(lastPrices)[market.symbol] ?? market.last;
  const retry = useRef(new OrderRetry(newClientOrderId)).current;
  const [side, setSide] = useState<Side>("BUY");
  const [type, setType] = useState<Type>("LIMIT");
  /** A price put in the field for the user, with the tick's places (65000.5 -> 65000.50). */
  const onTick = (p: string | undefined) => p && isDecimal(p) ? formatStep(p, market.tickSize) : p ?? "";
  // before a market's first trade, the price it opened at
  const [price, setPrice] = useState(onTick(market.last ?? market.startPrice));
  const [qty, setQty] = useState("");
  const [quoteQty, setQuoteQty] = useState("");
  const [tif, setTif] = useState<Tif>("GTC");
  const [postOnly, setPostOnly] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Order | undefined>(undefined);
  /** While an order is being placed, the orders channel's news: it may come before the answer. */
  const news = useRef<Map<string, Order> | undefined>(undefined);
  // An admin may pause or resume the market while the page is open: follow its status.
  const [status, setOwnStatus] = useState(market.status);
  // shared, so that the market's header shows the pause too
  const setStatus = (next: string) => {
    setOwnStatus(next);
    const known = marketStatuses.get();
    if (known[market.symbol] !== next) marketStatuses.set({ ...known, [market.symbol]: next });
  };

  // the page's one market poll (the pairs list follows it too); a failed poll keeps the last status
  useEffect(() =>
    watchMarkets(gatewayUrl, (markets) => {
      const found = markets.find((m) => m.symbol === market.symbol);
      if (found) setStatus(found.status);
    }), [gatewayUrl, market.symbol]);

  // the last order's result follows the order (filled, canceled...) through the orders channel
  const userId = session?.user.userId;
  useEffect(() => {
    if (!userId) return;
    return marketSocket(gatewayUrl).subscribe(`orders.${userId}`, (m) => {
      if (m.type === "subscribed") return;
      for (const item of Array.isArray(m.data) ? m.data : [m.data]) {
        const order = parsePayload(OrderEvent, item)?.order;
        if (!order) continue;
        const heard = news.current?.get(order.orderId);
        news.current?.set(order.orderId, heard ? laterState(heard, order) : order);
        setResult((r) => r?.orderId === order.orderId ? laterState(r, order) : r);
      }
    });
  }, [gatewayUrl, userId]);

  useEffect(() => {
    if (!picked) return;
    setType("LIMIT");
    setPrice(onTick(picked.price));
    setErrors((e) => ({ ...e, price: undefined }));
  }, [picked?.at]);

  const marketBuy = type === "MARKET" && side === "BUY";
  const freeBase = wallet[market.base]?.free ?? "0";
  const freeQuote = wallet[market.quote]?.free ?? "0";
  const quotePlaces = decimalPlaces(market.tickSize);
  // post only is for orders that may rest: limits good till canceled
  const postOnlyOn = type === "LIMIT" && tif === "GTC" && postOnly;

  const applyPreset = (pct: number) => {
    const amount = presetAmount({
      side,
      type,
      pct,
      price: type === "LIMIT" ? price : last,
      freeBase,
      freeQuote,
      stepSize: market.stepSize,
      tickSize: market.tickSize,
      feeBps: market.takerFeeBps,
    });
    if (!amount) {
      const message = price.trim() === ""
        ? "Enter a price first: the amount depends on it."
        : "Enter the price as a plain number, such as 65000.50: the amount depends on it.";
      setErrors((e) => ({ ...e, price: message }));
      return;
    }
    if (amount.qty !== undefined) setQty(amount.qty);
    if (amount.quoteQty !== undefined) setQuoteQty(amount.quoteQty);
    const usedPrice = type === "LIMIT" && side === "BUY";
    setErrors((e) => ({
      ...e,
      qty: undefined,
      quoteQty: undefined,
      ...(usedPrice ? { price: undefined } : {}),
    }));
  };

  // A market order against the visible book: its average and worst price, and a warning when it
  // would move far from the last price or the visible levels cannot fill it.
  const levels = book?.symbol === market.symbol ? (side === "BUY" ? book.asks : book.bids) : undefined;
  const amount = marketBuy ? quoteQty.trim() : qty.trim();
  const estimate = type === "MARKET" && levels && isDecimal(amount) && !isZero(amount)
    ? estimateMarket(
      levels,
      marketBuy ? { quoteQty: amount } : { qty: amount },
      market.stepSize,
      market.tickSize,
    )
    : undefined;
  const marketPrice = marketPriceView(estimate, side);
  const farFromLast = marketPrice.kind === "estimate" && last !== undefined &&
    isFar(marketPrice.avgPrice, last, FAR_FROM_LAST_PCT);

  // The notional and fee are estimates for display; the engine computes the real ones. A market
  // order larger than the visible book gets none: its price beyond the book is unknown.
  let total: string | undefined;
  if (marketBuy) total = isDecimal(quoteQty) ? quoteQty : undefined;
  else if (marketPrice.kind === "estimate") total = marketPrice.quote;
  else if (marketPrice.kind === "beyond") total = undefined;
  else {
    const estPrice = type === "LIMIT" ? price : last;
    if (estPrice && isDecimal(estPrice) && isDecimal(qty)) total = notional(estPrice, qty);
  }
  const feeBps = postOnlyOn ? market.makerFeeBps : market.takerFeeBps;
  const fee = total !== undefined ? feeFor(total, feeBps, quotePlaces + 2) : undefined;

  /** A setter that also clears the last order's result: it described another order. */
  function edited<T>(set: (value: T) => void): (value: T) => void {
    return (value) => {
      setResult(undefined);
      set(value);
    };
  }

  async function submit(e: Event) {
    e.preventDefault();
    if (busy || status !== "TRADING") return;
    setErrors({});
    setResult(undefined);
    const draft: PlaceOrderRequest = { symbol: market.symbol, side, type };
    if (type === "LIMIT") {
      draft.price = price.trim();
      draft.timeInForce = tif;
      if (postOnlyOn) draft.postOnly = true;
    }
    if (marketBuy) draft.quoteQty = quoteQty.trim();
    else draft.qty = qty.trim();
    // an empty box is not sent (the gateway would refuse it, and the page would log the refusal)
    const missing: Partial<Record<Field, string>> = {};
    if (type === "LIMIT" && draft.price === "") missing.price = "Enter a price.";
    if (marketBuy ? draft.quoteQty === "" : draft.qty === "") {
      missing[marketBuy ? "quoteQty" : "qty"] = "Enter an amount.";
    }
    const firstMissing = FIELD_ORDER.find((f) => missing[f] !== undefined);
    if (firstMissing) {
      setErrors(missing);
      setTimeout(() => document.getElementById(`of-${firstMissing}`)?.focus(), 0);
      return;
    }
    // the same order again after an unknown outcome keeps its id: it cannot be placed twice
    const clientOrderId = retry.idFor(draft);
    setBusy(true);
    news.current = new Map();
    try {
      const ack = await gateway(gatewayUrl).placeOrder({ ...draft, clientOrderId });
      retry.settle(draft, clientOrderId, "answered");
      const heard = news.current.get(ack.orderId);
      setResult(heard ? laterState(ack, heard) : ack);
      setQty("");
      setQuoteQty("");
    } catch (err) {
      const status = err instanceof GatewayError ? err.status : undefined;
      retry.settle(draft, clientOrderId, status);
      if (outcomeUnknown(status)) {
        const why = err instanceof GatewayError && err.code === "ENGINE_TIMEOUT"
          ? "The exchange did not confirm this order in time"
          : err instanceof GatewayError
          ? `The exchange answered with an error (${err.message})`
          : `Could not reach the exchange (${(err as Error).message})`;
        setErrors({ form: `${why}, so it may have been placed. ${UNKNOWN_OUTCOME_ADVICE}` });
      } else if (err instanceof GatewayError) {
        if (err.code === "MARKET_PAUSED") setStatus("PAUSED");
        const next: Partial<Record<Field, string>> = {};
        for (const fe of err.problem.errors ?? []) next[fieldOf(fe.field)] ??= problemText(fe.message);
        next[fieldOf(err.field)] ??= problemText(err.message, err.code);
        // A market buy's amount box is quoteQty; a qty problem there belongs to it too.
        if (marketBuy && next.qty && !next.quoteQty) [next.quoteQty, next.qty] = [next.qty, undefined];
        setErrors(next);
        // take the keyboard to the first field that needs fixing (once the message is drawn)
        const first = FIELD_ORDER.find((f) => next[f] !== undefined);
        if (first) setTimeout(() => document.getElementById(`of-${first}`)?.focus(), 0);
      }
    } finally {
      news.current = undefined;
      setBusy(false);
    }
  }

  const err = (f: Field) =>
    errors[f]
      ? (
        <p class="field-error" id={`of-${f}-error`} role="alert" data-field={f}>
          {errors[f]}
        </p>
      )
      : null;
  const invalid = (f: Field) =>
    errors[f] ? { "aria-invalid": true, "aria-describedby": `of-${f}-error` } : {};

  return (
    <section class="panel order-form" aria-label="Place an order">
      <form onSubmit={submit} noValidate>
        <RadioGroup
          label="Side"
          class="sides"
          options={SIDES}
          value={side}
          onChange={edited(setSide)}
          text={(s) => (s === "BUY" ? "Buy" : "Sell")}
          optionClass={(s) => `side ${s === "BUY" ? "buy" : "sell"}`}
        />
        <RadioGroup
          label="Order type"
          class="seg types"
          options={TYPES}
          value={type}
          onChange={edited(setType)}
          text={(t) => (t === "LIMIT" ? "Limit" : "Market")}
        />

        {type === "LIMIT"
          ? (
            <div class="field">
              <label for="of-price">Price</label>
              <div class="input-unit">
                <input
                  id="of-price"
                  name="price"
                  inputMode="decimal"
                  autoComplete="off"
                  value={price}
                  onInput={(e) => edited(setPrice)((e.target as HTMLInputElement).value)}
                  {...invalid("price")}
                />
                <span class="unit">{market.quote}</span>
              </div>
              {err("price")}
            </div>
          )
          : (
            <div class="field">
              <span class="label">Price</span>
              <div class="input-unit readonly">
                <span class="num" data-testid="market-estimate">
                  {marketPrice.kind === "estimate"
                    ? `≈ ${
                      formatStep(marketPrice.avgPrice, market.tickSize, true)
                    } average, ${marketPrice.bound} ${
                      formatStep(marketPrice.worstPrice, market.tickSize, true)
                    }`
                    : marketPrice.kind === "beyond"
                    ? "More than the book shown holds"
                    : "Best market price"}
                </span>
                <span class="unit">{market.quote}</span>
              </div>
              {estimate && (!estimate.complete || farFromLast || isZero(estimate.filled)) && (
                <p class="field-warning" role="status" data-testid="market-warning">
                  {!estimate.complete
                    ? `The book shown holds only ${
                      formatStep(estimate.filled, market.stepSize, true)
                    } ${market.base} ` +
                      "on that side: the rest would fill further away, or expire."
                    : isZero(estimate.filled)
                    ? `That buys less than ${market.stepSize} ${market.base} at the best price: ` +
                      "the order would expire."
                    : `That is more than ${FAR_FROM_LAST_PCT}% from the last price ${
                      formatStep(last, market.tickSize, true)
                    }: consider a limit order.`}
                </p>
              )}
            </div>
          )}

        {marketBuy
          ? (
            <div class="field">
              <label for="of-quoteQty">Spend</label>
              <div class="input-unit">
                <input
                  id="of-quoteQty"
                  name="quoteQty"
                  inputMode="decimal"
                  autoComplete="off"
                  value={quoteQty}
                  onInput={(e) => edited(setQuoteQty)((e.target as HTMLInputElement).value)}
                  {...invalid("quoteQty")}
                />
                <span class="unit">{market.quote}</span>
              </div>
              {err("quoteQty")}
            </div>
          )
          : (
            <div class="field">
              <label for="of-qty">Amount</label>
              <div class="input-unit">
                <input
                  id="of-qty"
                  name="qty"
                  inputMode="decimal"
                  autoComplete="off"
                  value={qty}
                  onInput={(e) => edited(setQty)((e.target as HTMLInputElement).value)}
                  {...invalid("qty")}
                />
                <span class="unit">{market.base}</span>
              </div>
              {err("qty")}
            </div>
          )}

        <div class="presets" role="group" aria-label="Amount from your balance">
          {PRESETS.map((p) => (
            <button type="button" onClick={() => applyPreset(p)} disabled={!session}>
              {p}%
            </button>
          ))}
        </div>

        {type === "LIMIT" && (
          <div class="row-options">
            <label class="select">
              <span>Time in force</span>
              <select
                value={tif}
                onChange={(e) => {
                  const next = (e.target as HTMLSelectElement).value as Tif;
                  edited(setTif)(next);
                  if (next !== "GTC") setPostOnly(false);
                }}
                {...invalid("timeInForce")}
              >
                <option value="GTC">GTC (rests)</option>
                <option value="IOC">IOC (fill now, cancel rest)</option>
                <option value="FOK">FOK (all or nothing)</option>
              </select>
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={postOnlyOn}
                disabled={tif !== "GTC"}
                onChange={(e) => edited(setPostOnly)((e.target as HTMLInputElement).checked)}
              />
              Post only
            </label>
          </div>
        )}
        {err("timeInForce")}
        {err("postOnly")}

        <dl class="summary num">
          <div>
            <dt>Available</dt>
            <dd data-testid="available">
              {session
                ? side === "BUY"
                  ? `${formatStep(freeQuote, market.tickSize, true)} ${market.quote}`
                  : `${formatStep(freeBase, market.stepSize, true)} ${market.base}`
                : "—"}
            </dd>
          </div>
          <div>
            <dt>{type === "MARKET" && !marketBuy ? "Total (est.)" : "Total"}</dt>
            <dd data-testid="total">
              {total !== undefined ? `${formatRounded(total, market.tickSize, true)} ${market.quote}` : "—"}
            </dd>
          </div>
          <div>
            <dt>Fee (est., {formatPlaces(String(feeBps / 100), 2, 4)}%)</dt>
            <dd data-testid="fee">
              {fee !== undefined
                ? `${groupThousands(formatPlaces(fee, 2, quotePlaces + 2))} ${market.quote}`
                : "—"}
            </dd>
          </div>
        </dl>

        {ready && !session
          ? (
            <p class="login-hint">
              <a href={`/login?next=/trade/${market.symbol}`}>Log in</a> or{" "}
              <a href={`/signup?next=/trade/${market.symbol}`}>sign up</a> to trade.
            </p>
          )
          : (
            <ActionButton
              type="submit"
              class={`btn submit ${side === "BUY" ? "buy" : "sell"}`}
              disabled={!session}
              unavailable={busy || status !== "TRADING"}
            >
              {status !== "TRADING"
                ? `${market.symbol} is ${status.toLowerCase()}`
                : busy
                ? "Placing…"
                : `${side === "BUY" ? "Buy" : "Sell"} ${market.base}`}
            </ActionButton>
          )}
        {err("form")}
        {result && (
          <p class="order-result" role="status" data-status={result.status}>
            Order {orderStatusText(result)}
            {!isZero(result.filledQty) &&
              ` (${formatStep(result.filledQty, market.stepSize, true)} ${market.base} at ${
                formatRounded(result.avgPrice, market.tickSize, true)
              })`}
          </p>
        )}
      </form>
    </section>
  );
}
