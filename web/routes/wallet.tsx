import { Island } from "../framework/island.tsx";
import WalletView from "../islands/WalletView.tsx";
import type { PageProps } from "../state.ts";

export const title = "Wallet";

// The wallet belongs to the browser's session (its token lives in the browser), so the server
// renders the frame and the island loads the numbers.
export default function WalletPage({ state }: PageProps) {
  return (
    <section class="page">
      <h1>Wallet</h1>
      <Island component={WalletView} props={{ gatewayUrl: state.publicGatewayUrl }} />
    </section>
  );
}
