import { Island } from "../framework/island.tsx";
import AuthForm from "../islands/AuthForm.tsx";
import type { PageProps } from "../state.ts";

export const title = "Sign up";

export default function SignupPage({ url, state }: PageProps) {
  const next = url.searchParams.get("next") ?? "/";
  return (
    <section class="page narrow">
      <Island component={AuthForm} props={{ gatewayUrl: state.publicGatewayUrl, mode: "signup", next }} />
    </section>
  );
}
