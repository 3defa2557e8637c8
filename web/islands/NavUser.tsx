import { useEffect, useState } from "preact/hooks";
import { gateway, PALETTE_KEY, useSession } from "../utils/live.ts";
import { logOut, takeSessionEnded } from "../utils/session.ts";

export interface NavUserProps {
  gatewayUrl: string;
}

/**
 * The account corner of the top bar: who is logged in, log out, the buy/sell palette switch, and a
 * notice when the gateway ended the session.
 */
export default function NavUser({ gatewayUrl }: NavUserProps) {
  const { session, ready } = useSession();
  const [palette, setPalette] = useState("default");
  const [ended, setEnded] = useState(false);
  const [leaving, setLeaving] = useState(false);
  useEffect(() => {
    if (ready && !session && takeSessionEnded()) setEnded(true);
    if (session) setEnded(false);
  }, [ready, session]);
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
              disabled={leaving}
              onClick={async () => {
                setLeaving(true);
                await logOut(gateway(gatewayUrl));
                location.assign("/");
              }}
            >
              Log out
            </button>
          </>
        )
        : (
          <>
            {ended && (
              <span class="muted small" role="status" data-testid="session-ended">
                Your session ended; log in again.
              </span>
            )}
            <a class="btn ghost small" href="/login">Log in</a>
            <a class="btn primary small" href="/signup">Sign up</a>
          </>
        )}
    </div>
  );
}
