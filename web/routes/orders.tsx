import { Island } from "../framework/island.tsx";
import MyOrders, { type MarketSteps } from "../islands/MyOrders.tsx";
import type { Handlers, PageProps } from "../state.ts";

interface Data {
  steps: MarketSteps;
}

export const title = "Orders";

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const markets = await ctx.state.gateway.markets().catch(() => []);
    return ctx.render({
      steps: Object.fromEntries(
        markets.map((
          m,
        ) => [m.symbol, { tickSize: m.tickSize, stepSize: m.stepSize, base: m.base, quote: m.quote }]),
      ),
    });
  },
};

export default function OrdersPage({ data, state }: PageProps<Data>) {
  return (
    <section class="page">
      <h1>Orders</h1>
      <Island
        component={MyOrders}
        props={{ gatewayUrl: state.publicGatewayUrl, markets: data.steps, full: true }}
      />
    </section>
  );
}
