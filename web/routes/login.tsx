import { Island } from "../framework/island.tsx";
import AuthForm from "../islands/AuthForm.tsx";
import type { PageProps } from "../state.ts";

export const title = "Log in";

export default function LoginPage({ url, state }: PageProps) {
  const next = url.searchParams.get("next") ?? "/";
  return (
    <section class="page narrow">
      <Island component={AuthForm} props={{ gatewayUrl: state.publicGatewayUrl, mode: "login", next }} />
    </section>
  );
}
