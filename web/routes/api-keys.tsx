import { Island } from "../framework/island.tsx";
import ApiKeys from "../islands/ApiKeys.tsx";
import type { PageProps } from "../state.ts";

export const title = "API keys";

export default function ApiKeysPage({ state }: PageProps) {
  return (
    <section class="page">
      <h1>API keys</h1>
      <p class="muted">
        Keys let programs trade for you. A key's secret signs each request (HMAC-SHA256); it is shown once,
        when you create the key. The{" "}
        <a href={`${state.publicGatewayUrl.replace(/\/+$/, "")}/docs`}>API reference</a>{" "}
        lists the endpoints and how to sign a request.
      </p>
      <Island component={ApiKeys} props={{ gatewayUrl: state.publicGatewayUrl }} />
    </section>
  );
}
