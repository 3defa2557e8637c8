import { Island } from "../framework/island.tsx";
import AuthForm from "../islands/AuthForm.tsx";
import type { PageProps } from "../state.ts";
import { safeNext } from "../utils/safe_next.ts";

export const title = "Sign up";

export default function SignupPage({ url, state }: PageProps) {
  // only a path on this site, also in the links between the login and signup pages
  const next = safeNext(url.searchParams.get("next"), url.origin);
  return (
    <section class="page narrow">
      <Island component={AuthForm} props={{ gatewayUrl: state.publicGatewayUrl, mode: "signup", next }} />
    </section>
  );
}
