import type { Execution, MarketSpec, OrderAck } from "@lib/contracts";
import { fillsOfOrders } from "@lib/ledger";
import { compareDecimals, decimalPlaces, fromSteps, parseUnits, toSteps } from "@lib/money";
import { findUser } from "@lib/users";
import type { GatewayDeps, RouteFn } from "../app.ts";
import { okReply } from "../engine_client.ts";
import { checkListedSymbol } from "./markets.ts";
import { ApiError, unknownSymbol } from "../errors.ts";
import {
  CancelQuery,
  HistoryQuery,
  HistoryResponse,
  OpenOrdersQuery,
  OrderAckResponse,
  OrderIdParams,
  OrderList,
  PlaceOrderRequest,
} from "../schemas.ts";

/**
 * Orders' states after their last events, as the ledger writer recorded them in PostgreSQL: for
 * orders whose record in Redis has expired (closed orders keep it for KALENCY_CLOSED_ORDER_TTL_S).
 * Events are ordered by their message id: `<ms>-<seq>`, with `/<index>` for a message of a packed
 * entry.
 */
async function ordersFromLedger(deps: GatewayDeps, orderIds: string[]): Promise<Map<string, OrderAck>> {
  const found = new Map<string, OrderAck>();
  if (orderIds.length === 0) return found;
  const rows = await deps.sql`
    SELECT DISTINCT ON (order_id) order_id, body FROM order_events WHERE order_id = ANY(${orderIds})
    ORDER BY order_id,
             split_part(stream_id, '-', 1)::bigint DESC,
             split_part(split_part(stream_id, '/', 1), '-', 2)::bigint DESC,
             coalesce(nullif(split_part(stream_id, '/', 2), ''), '0')::int DESC`;
  for (const row of rows) {
    const body = row.body as unknown;
    found.set(String(row.order_id), (typeof body === "string" ? JSON.parse(body) : body) as OrderAck);
  }
  return found;
}

/** The highest price a tick size can count, by tick size (made once: every order checks it). */
const highestPrices = new Map<string, string>();
function highestPrice(tickSize: string): string {
  let p = highestPrices.get(tickSize);
  if (p === undefined) {
    p = fromSteps(Number.MAX_SAFE_INTEGER, tickSize);
    if (highestPrices.size < 10_000) highestPrices.set(tickSize, p);
  }
  return p;
}

/** Fast 400s from the market's filters before the engine sees the order. */
export function precheckOrder(o: PlaceOrderRequest, m: MarketSpec): void {
  // sizes first: a number too large to count in ticks or lots is not "off the tick"
  if (o.qty !== undefined && compareDecimals(o.qty, m.maxQty) > 0) {
    throw new ApiError(400, "QTY_TOO_LARGE", `qty must be at most ${m.maxQty} on ${m.symbol}, got ${o.qty}`, {
      field: "qty",
    });
  }
  if (o.price !== undefined && compareDecimals(o.price, highestPrice(m.tickSize)) > 0) {
    throw new ApiError(
      400,
      "PRICE_OUT_OF_BAND",
      `price ${o.price} is above ${highestPrice(m.tickSize)}, the highest price ${m.symbol} can take; ` +
        "the engine also keeps prices within a band around the last trade",
      { field: "price" },
    );
  }
  if (o.price !== undefined && toSteps(o.price, m.tickSize) === undefined) {
    throw new ApiError(
      400,
      "PRICE_OFF_TICK",
      `price ${o.price} is not a multiple of the tick size ${m.tickSize} of ${m.symbol}`,
      { field: "price" },
    );
  }
  if (o.qty !== undefined && toSteps(o.qty, m.stepSize) === undefined) {
    throw new ApiError(
      400,
      "QTY_OFF_STEP",
      `qty ${o.qty} is not a multiple of the step size ${m.stepSize} of ${m.symbol}`,
      { field: "qty" },
    );
  }
}

/**
 * The first field in which a place request differs from the order its clientOrderId already names,
 * or undefined for a true retry. A MARKET BUY by quote amount is compared by quoteQty (its qty is
 * what it bought); a MARKET order's timeInForce is the engine's (always IOC), not compared.
 */
export function retryDifference(o: OrderAck, b: PlaceOrderRequest, timeInForce: string): string | undefined {
  if (o.symbol !== b.symbol) return "symbol";
  if (o.side !== b.side) return "side";
  if (o.type !== b.type) return "type";
  if (o.type !== "MARKET" && o.timeInForce !== timeInForce) return "timeInForce";
  if (o.postOnly !== (b.postOnly ?? false)) return "postOnly";
  if (b.stp !== undefined && o.stp !== b.stp) return "stp";
  const same = (x: string | undefined, y: string | undefined) =>
    x === undefined || y === undefined ? x === y : compareDecimals(x, y) === 0;
  if (!same(o.price, b.price)) return "price";
  if (b.quoteQty !== undefined || o.quoteQty !== undefined) {
    if (!same(o.quoteQty, b.quoteQty)) return "quoteQty";
  } else if (!same(o.qty, b.qty)) return "qty";
  return undefined;
}

/** Orders: place, cancel (by id, by clientOrderId, all of a symbol), open, one, history. */
/** Whether these fills add up to all an order filled (exact decimal sums). */
export function fillsCover(order: OrderAck, fills: readonly Execution[]): boolean {
  if (compareDecimals(order.filledQty, "0") === 0) return true;
  const places = Math.max(decimalPlaces(order.filledQty), ...fills.map((f) => decimalPlaces(f.qty)));
  let sum = 0n;
  for (const f of fills) sum += parseUnits(f.qty, places);
  return sum >= parseUnits(order.filledQty, places);
}

export function orderRoutes(route: RouteFn, deps: GatewayDeps): void {
  route({
    method: "post",
    path: "/v1/orders",
    summary: "Place an order (LIMIT/MARKET, GTC/IOC/FOK, postOnly, quoteQty, stp, clientOrderId)",
    description: "Answers when the matching engine has applied the order. A retry with the same " +
      "clientOrderId and the same parameters returns the first answer (the order as it was placed) " +
      "with status 200 instead of placing another; GET /v1/orders/{orderId} gives its state now. " +
      "The same clientOrderId with other parameters is a 409.",
    tags: ["orders"],
    auth: "user",
    engine: true,
    body: PlaceOrderRequest,
    responses: {
      201: { description: "Order accepted (and possibly filled)", schema: OrderAckResponse },
      200: { description: "Duplicate clientOrderId: the original order", schema: OrderAckResponse },
      403: { description: "The body's userId is not the caller (USER_MISMATCH)" },
      404: { description: "The symbol is not listed (UNKNOWN_SYMBOL)" },
      409: { description: "The clientOrderId names an order with other parameters" },
      422: { description: "INSUFFICIENT_BALANCE, TOO_MANY_OPEN_ORDERS or MARKET_PAUSED" },
      504: {
        description:
          "No answer from the matching engine in time (ENGINE_TIMEOUT); retry with the same clientOrderId",
      },
    },
  }, async (c, { body, principal }) => {
    // trimmed, as the original compared it
    const claimed = body.userId?.trim() ?? "";
    if (claimed !== "" && claimed !== principal.userId) {
      // the original's clients send the login they got their token with, which may be the username
      const user = await findUser(deps.sql, { userId: principal.userId });
      if (user?.username.toLowerCase() !== claimed.toLowerCase()) {
        throw new ApiError(403, "USER_MISMATCH", "userId does not match authenticated identity", {
          field: "userId",
        });
      }
    }
    const markets = await deps.reads.markets();
    if (markets.length > 0) {
      const m = markets.find((x) => x.symbol === body.symbol);
      if (!m) throw unknownSymbol(body.symbol, markets);
      precheckOrder(body, m);
    }
    const timeInForce = body.timeInForce ?? (body.type === "MARKET" ? "IOC" : "GTC");
    const reply = okReply(
      await deps.engine.send({
        type: "place",
        userId: principal.userId,
        symbol: body.symbol,
        side: body.side,
        orderType: body.type,
        timeInForce,
        postOnly: body.postOnly ?? false,
        price: body.price,
        qty: body.qty,
        quoteQty: body.quoteQty,
        clientOrderId: body.clientOrderId,
        stp: body.stp,
      }),
    );
    if (!reply.order) throw new ApiError(500, "ENGINE_REPLY_INCOMPLETE", "The engine's reply has no order");
    if (reply.duplicate) {
      const field = retryDifference(reply.order, body, timeInForce);
      if (field !== undefined) {
        const o = reply.order;
        throw new ApiError(
          409,
          "DUPLICATE_CLIENT_ORDER_ID",
          `clientOrderId ${body.clientOrderId} already names order ${o.orderId} (${o.side} ${o.type} ${o.qty} ` +
            `${o.symbol}${o.price ? ` at ${o.price}` : ""}), which differs in ${field}; this order was not ` +
            "placed. Use a new clientOrderId for a new order.",
          { field: "clientOrderId" },
        );
      }
    }
    return c.json(reply.order, reply.duplicate ? 200 : 201);
  });

  route({
    method: "delete",
    path: "/v1/orders",
    summary: "Cancel by clientOrderId or orderId on a symbol, or cancel every open order on it",
    tags: ["orders"],
    auth: "user",
    engine: true,
    query: CancelQuery,
    responses: { 200: { description: "The canceled orders", schema: OrderList } },
  }, async (c, { query, principal }) => {
    if (query.clientOrderId && query.orderId) {
      throw new ApiError(
        400,
        "VALIDATION_FAILED",
        "give orderId or clientOrderId, not both (or neither, to cancel every open order on the symbol)",
        { field: "clientOrderId" },
      );
    }
    if (query.clientOrderId || query.orderId) {
      const reply = okReply(
        await deps.engine.send({
          type: "cancel",
          userId: principal.userId,
          symbol: query.symbol,
          orderId: query.orderId,
          clientOrderId: query.clientOrderId,
        }),
      );
      return c.json(reply.order ? [reply.order] : []);
    }
    const reply = okReply(
      await deps.engine.send({ type: "cancelAll", userId: principal.userId, symbol: query.symbol }),
    );
    return c.json(reply.orders ?? []);
  });

  route({
    method: "get",
    path: "/v1/orders/open",
    summary: "Your open orders, oldest first",
    tags: ["orders"],
    auth: "user",
    query: OpenOrdersQuery,
    responses: { 200: { description: "Open orders sorted by createdAt ascending", schema: OrderList } },
  }, async (c, { query, principal }) => {
    await checkListedSymbol(deps, query.symbol);
    const orders = await deps.reads.openOrders(principal.userId);
    const out = query.symbol ? orders.filter((o) => o.symbol === query.symbol) : orders;
    out.sort((a, b) => a.createdAt - b.createdAt);
    return c.json(out);
  });

  route({
    method: "get",
    path: "/v1/orders/history",
    summary: "Your orders in all states with their fills, newest first, paged by cursor",
    tags: ["orders"],
    auth: "user",
    query: HistoryQuery,
    responses: { 200: { description: "One page of orders", schema: HistoryResponse } },
  }, async (c, { query, principal }) => {
    await checkListedSymbol(deps, query.symbol);
    let before: { ms: number; orderId: string } | undefined;
    if (query.cursor) {
      const i = query.cursor.indexOf(":");
      before = { ms: Number(query.cursor.slice(0, i)), orderId: query.cursor.slice(i + 1) };
    }
    const picked: OrderAck[] = [];
    let last: { id: string; score: number } | undefined;
    // filtering by symbol can skip orders, so read pages of ids until the page is full (bounded)
    for (let round = 0; round < 20 && picked.length < query.limit; round++) {
      const ids = await deps.reads.orderHistoryIds(principal.userId, { limit: query.limit, before });
      if (ids.length === 0) break;
      const orders = await deps.reads.orders(ids.map((i) => i.id));
      const byId = new Map(orders.map((o) => [o.orderId, o]));
      const expired = ids.filter((i) => !byId.has(i.id)).map((i) => i.id);
      for (const [id, o] of await ordersFromLedger(deps, expired)) byId.set(id, o);
      for (const i of ids) {
        last = i;
        const o = byId.get(i.id);
        if (o && (!query.symbol || o.symbol === query.symbol)) picked.push(o);
        if (picked.length === query.limit) break;
      }
      if (last) before = { ms: last.score, orderId: last.id };
    }
    const fills = await deps.reads.fills(principal.userId, 1000);
    const byOrder = new Map<string, Execution[]>();
    /** Files a fill under its maker's and taker's orders (only those in `only`, when given). */
    const file = (f: Execution, only?: ReadonlySet<string>) => {
      for (const id of [f.makerOrderId, f.takerOrderId]) {
        if (only && !only.has(id)) continue;
        const list = byOrder.get(id);
        if (list) list.push(f);
        else byOrder.set(id, [f]);
      }
    };
    for (const f of fills) file(f);
    // Redis keeps a user's newest fills only: an order whose fills there fall short of its filled
    // quantity takes them from the ledger (merged by trade id: the ledger may lag the newest)
    const short = picked.filter((o) => !fillsCover(o, byOrder.get(o.orderId) ?? []));
    if (short.length) {
      const known = new Set(fills.map((f) => f.tradeId));
      const ids = new Set(short.map((o) => o.orderId));
      for (const f of await fillsOfOrders(deps.sql, principal.userId, [...ids])) {
        if (!known.has(f.tradeId)) file(f, ids);
      }
    }
    const orders = picked.map((o) => ({
      ...o,
      fills: (byOrder.get(o.orderId) ?? []).slice().sort((a, b) => a.ts - b.ts || a.seq - b.seq),
    }));
    const nextCursor = picked.length === query.limit && last ? `${last.score}:${last.id}` : null;
    return c.json({ orders, nextCursor });
  });

  route({
    method: "get",
    path: "/v1/orders/:orderId",
    summary: "One of your orders",
    tags: ["orders"],
    auth: "user",
    params: OrderIdParams,
    responses: { 200: { description: "The order", schema: OrderAckResponse } },
  }, async (c, { params, principal }) => {
    // closed orders leave Redis after a while; the ledger keeps every order's last state
    const order = (await deps.reads.order(params.orderId)) ??
      (await ordersFromLedger(deps, [params.orderId])).get(params.orderId);
    if (
      !order ||
      (order.userId !== principal.userId && await deps.auth.currentRole(principal) !== "admin")
    ) {
      throw new ApiError(404, "UNKNOWN_ORDER", `order ${params.orderId} not found among your orders`, {
        field: "orderId",
      });
    }
    return c.json(order);
  });

  route({
    method: "delete",
    path: "/v1/orders/:orderId",
    summary: "Cancel one of your orders",
    tags: ["orders"],
    auth: "user",
    engine: true,
    params: OrderIdParams,
    responses: { 200: { description: "The canceled order (status CANCELED)", schema: OrderAckResponse } },
  }, async (c, { params, principal }) => {
    const reply = okReply(
      await deps.engine.send({ type: "cancel", userId: principal.userId, orderId: params.orderId }),
    );
    if (!reply.order) throw new ApiError(500, "ENGINE_REPLY_INCOMPLETE", "The engine's reply has no order");
    return c.json(reply.order);
  });
}
