import { Island } from "../framework/island.tsx";
import AdminPanel from "../islands/AdminPanel.tsx";
import type { Handlers, PageProps } from "../state.ts";

interface Data {
  markets: { symbol: string; status: string }[];
}

export const title = "Admin";

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const markets = await ctx.state.gateway.markets().catch(() => []);
    return ctx.render({ markets: markets.map((m) => ({ symbol: m.symbol, status: m.status })) });
  },
};

export default function AdminPage({ data, state }: PageProps<Data>) {
  return (
    <section class="page">
      <h1>Admin</h1>
      <Island component={AdminPanel} props={{ gatewayUrl: state.publicGatewayUrl, markets: data.markets }} />
    </section>
  );
}
