import { type Handlers, HttpError, type PageProps } from "../../../router.ts";

export const handler: Handlers<{ id: string }> = {
  GET(ctx) {
    if (ctx.params.id === "missing") throw new HttpError(404);
    if (ctx.params.id === "broken") throw new Error("boom");
    return ctx.render({ id: ctx.params.id }, { title: `Item ${ctx.params.id}` });
  },
};

export default function Item({ data }: PageProps<{ id: string }>) {
  return <p id="item">item {data.id}</p>;
}
