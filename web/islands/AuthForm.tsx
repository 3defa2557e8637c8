import { useState } from "preact/hooks";
import { ActionButton } from "../components/ActionButton.tsx";
import { GatewayError, problemText } from "../gateway_client.ts";
import { gateway } from "../utils/live.ts";
import { safeNext } from "../utils/safe_next.ts";
import { saveSession } from "../utils/session.ts";

export interface AuthFormProps {
  gatewayUrl: string;
  mode: "login" | "signup";
  /** Where to go afterwards: a path on this site (anything else goes to "/", see utils/safe_next.ts). */
  next: string;
}

type Field = "username" | "password" | "form";

/** Log in or sign up; the tokens go to localStorage (see utils/session.ts). */
export default function AuthForm({ gatewayUrl, mode, next }: AuthFormProps) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [busy, setBusy] = useState(false);
  const signup = mode === "signup";

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setErrors({});
    setBusy(true);
    try {
      const gw = gateway(gatewayUrl);
      const session = signup
        ? await gw.signup(username.trim(), password)
        : await gw.login(username.trim(), password);
      saveSession(session);
      location.assign(safeNext(next, location.origin));
    } catch (err) {
      if (err instanceof GatewayError) {
        const out: Partial<Record<Field, string>> = {};
        for (const fe of err.problem.errors ?? []) {
          const f = fe.field === "username" || fe.field === "password" ? fe.field : "form";
          out[f] ??= problemText(fe.message);
        }
        const f = err.field === "username" || err.field === "password" ? err.field : "form";
        out[f] ??= problemText(err.message, err.code);
        setErrors(out);
        // the keyboard goes to the first field to fix (once its message is drawn)
        const first = (["username", "password"] as const).find((name) => out[name] !== undefined);
        if (first) setTimeout(() => document.getElementById(`auth-${first}`)?.focus(), 0);
      } else {
        setErrors({ form: `Could not reach the exchange: ${(err as Error).message}` });
      }
      setBusy(false);
    }
  }

  /** A field's description: its error, else (signing up) its hint. */
  const described = (f: Field) =>
    errors[f]
      ? { "aria-invalid": true, "aria-describedby": `auth-${f}-error` }
      : signup
      ? { "aria-describedby": `auth-${f}-hint` }
      : {};
  const err = (f: Field) =>
    errors[f] && <p class="field-error" role="alert" id={`auth-${f}-error`} data-field={f}>{errors[f]}</p>;

  return (
    <form class="panel auth-form" onSubmit={submit} noValidate>
      <h1>{signup ? "Create your account" : "Log in"}</h1>
      {signup && <p class="muted">New accounts start with test balances to trade with.</p>}
      <div class="field">
        <label for="auth-username">Username</label>
        <input
          id="auth-username"
          name="username"
          autoComplete="username"
          required
          value={username}
          onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
          {...described("username")}
        />
        {signup && !errors.username && (
          <p class="hint" id="auth-username-hint">3 to 32 letters, digits, “_”, “.” or “-”.</p>
        )}
        {err("username")}
      </div>
      <div class="field">
        <label for="auth-password">Password</label>
        <input
          id="auth-password"
          name="password"
          type="password"
          autoComplete={signup ? "new-password" : "current-password"}
          required
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          {...described("password")}
        />
        {signup && !errors.password && <p class="hint" id="auth-password-hint">At least 8 characters.</p>}
        {err("password")}
      </div>
      <ActionButton type="submit" class="btn primary block" unavailable={busy}>
        {busy ? "Please wait…" : signup ? "Sign up" : "Log in"}
      </ActionButton>
      {err("form")}
      <p class="muted switch">
        {signup
          ? (
            <>
              Already have an account? <a href={`/login?next=${encodeURIComponent(next)}`}>Log in</a>
            </>
          )
          : (
            <>
              New here? <a href={`/signup?next=${encodeURIComponent(next)}`}>Create an account</a>
            </>
          )}
      </p>
    </form>
  );
}
