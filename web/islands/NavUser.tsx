import { useEffect, useState } from "preact/hooks";
import { PALETTE_KEY, useSession } from "../utils/live.ts";
import { clearSession } from "../utils/session.ts";

export interface NavUserProps {
  gatewayUrl: string;
}

/** The account corner of the top bar: who is logged in, log out, and the buy/sell palette switch. */
export default function NavUser(_props: NavUserProps) {
  const { session, ready } = useSession();
  const [palette, setPalette] = useState("default");
  useEffect(() => setPalette(document.documentElement.dataset.palette ?? "default"), []);
  // the Admin link is for admins only (styles.css); the page's first script set the stored role
  useEffect(() => {
    const root = document.documentElement.dataset;
    if (session) root.role = session.user.role;
    else delete root.role;
  }, [session?.user.role]);

  const togglePalette = () => {
    const next = palette === "cb" ? "default" : "cb";
    setPalette(next);
    document.documentElement.dataset.palette = next;
    try {
      localStorage.setItem(PALETTE_KEY, next);
    } catch {
      // private mode: the choice lasts for this page only
    }
  };

  return (
    <div class="navuser">
      <button
        type="button"
        class="palette"
        onClick={togglePalette}
        aria-pressed={palette === "cb"}
        title="Buy/sell colours: green/red or colour-blind-safe blue/orange"
      >
        <span class="swatch buy" aria-hidden="true" />
        <span class="swatch sell" aria-hidden="true" />
        <span class="sr-only">Colour-blind-safe colours</span>
      </button>
      {ready && session
        ? (
          <>
            <span class="who" title={session.user.userId}>
              {session.user.username}
              {session.user.role === "admin" && <span class="tag">admin</span>}
            </span>
            <button
              type="button"
              class="btn ghost small"
              onClick={() => {
                clearSession();
                location.assign("/");
              }}
            >
              Log out
            </button>
          </>
        )
        : (
          <>
            <a class="btn ghost small" href="/login">Log in</a>
            <a class="btn primary small" href="/signup">Sign up</a>
          </>
        )}
    </div>
  );
}
