import type { LayoutProps } from "../../router.ts";

export default function App({ title, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <title>{title}</title>
      </head>
      <body>{children}</body>
    </html>
  );
}
