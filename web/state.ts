/**
 * What every route handler, page and the layout receive as `state`, and the route types bound to it
 * (Fresh's `define` idea, as plain types).
 * @module
 */
import type { GatewayClient } from "./gateway_client.ts";
import type {
  HandlerContext as BaseHandlerContext,
  Handlers as BaseHandlers,
  LayoutProps as BaseLayoutProps,
  PageProps as BasePageProps,
} from "./framework/router.ts";

export interface State {
  /** Server-side client of the gateway (KALENCY_GATEWAY_URL). */
  gateway: GatewayClient;
  /** The gateway URL as the browser reaches it; islands get it as a prop. */
  publicGatewayUrl: string;
  /** Fee rates for estimates when the market listing has none. */
  fees: { makerBps: number; takerBps: number };
}

export type PageProps<D = undefined> = BasePageProps<D, State>;
export type Handlers<D = undefined> = BaseHandlers<D, State>;
export type HandlerContext<D = undefined> = BaseHandlerContext<D, State>;
export type LayoutProps = BaseLayoutProps<State>;
export { HttpError } from "./framework/router.ts";
