import type { PageProps } from "../state.ts";

export default function NotFound({ url }: PageProps<{ message?: string }>) {
  return (
    <section class="page narrow notfound">
      <h1>Page not found</h1>
      <p>
        Nothing lives at <code>{url.pathname}</code>.
      </p>
      <p>
        <a class="btn" href="/markets">See all markets</a>
      </p>
    </section>
  );
}
