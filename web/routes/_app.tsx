import type { LayoutProps } from "../state.ts";
import { Island } from "../framework/island.tsx";
import NavUser from "../islands/NavUser.tsx";
import { PALETTE_SCRIPT } from "../head_script.ts";

const LINKS: [href: string, label: string][] = [
  ["/markets", "Markets"],
  ["/trade", "Trade"],
  ["/wallet", "Wallet"],
  ["/orders", "Orders"],
  ["/api-keys", "API keys"],
  ["/admin", "Admin"],
];

export default function App({ title, url, state, styles, children }: LayoutProps) {
  const path = url.pathname;
  const current = (href: string) =>
    href === "/markets" ? path === "/" || path === "/markets" : path.startsWith(href);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="dark" />
        <title>{title ? `${title} · Kalency` : "Kalency"}</title>
        <link
          rel="icon"
          href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23f0b90b'/%3E%3C/svg%3E"
        />
        {styles.map((href) => <link key={href} rel="stylesheet" href={href} />)}
        <script dangerouslySetInnerHTML={{ __html: PALETTE_SCRIPT }} />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="topbar">
          <a class="brand" href="/">
            <span class="brand-mark" aria-hidden="true" />Kalency
          </a>
          <nav aria-label="Main">
            <ul>
              {LINKS.map(([href, label]) => (
                <li class={href === "/admin" ? "nav-admin" : undefined}>
                  <a href={href} aria-current={current(href) ? "page" : undefined}>{label}</a>
                </li>
              ))}
            </ul>
          </nav>
          <Island component={NavUser} props={{ gatewayUrl: state.publicGatewayUrl }} />
        </header>
        <main id="main" tabIndex={-1}>{children}</main>
      </body>
    </html>
  );
}
