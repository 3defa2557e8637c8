import type { PageProps } from "../state.ts";

export default function ErrorPage({ data }: PageProps<{ status: number; message: string }>) {
  return (
    <section class="page narrow notfound">
      <h1>Error {data.status}</h1>
      <p>{data.message}</p>
      <p>
        <a class="btn" href="/markets">Back to the markets</a>
      </p>
    </section>
  );
}
