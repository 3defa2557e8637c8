import type { PageProps } from "../../router.ts";

export default function ErrorPage({ data }: PageProps<{ status: number; message: string }>) {
  return <p>error {data.status}: {data.message}</p>;
}
