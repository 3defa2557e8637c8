import { useEffect, useState } from "preact/hooks";
import { type ApiKey, GatewayError, type NewApiKey } from "../gateway_client.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { refocusAfterRemoval } from "../utils/focus.ts";
import { gateway, localDateTime, useSession } from "../utils/live.ts";

export interface ApiKeysProps {
  gatewayUrl: string;
}

function day(v: number | string | null | undefined): string {
  if (v === null || v === undefined) return "—";
  const d = new Date(v);
  // the list loads in the browser only, so the browser's time zone is safe to use
  return Number.isNaN(d.getTime()) ? String(v) : localDateTime(d.getTime());
}

/** Create API keys (the secret is shown once), list and revoke them. */
export default function ApiKeys({ gatewayUrl }: ApiKeysProps) {
  const { session, ready } = useSession();
  const [keys, setKeys] = useState<ApiKey[] | undefined>(undefined);
  const [label, setLabel] = useState("");
  const [created, setCreated] = useState<NewApiKey | undefined>(undefined);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);

  const load = () =>
    gateway(gatewayUrl).apiKeys().then((list) => {
      setKeys(list);
      setError("");
    }).catch((e) => setError((e as Error).message));

  useEffect(() => {
    if (session) void load();
  }, [gatewayUrl, session?.user.userId]);

  async function create(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError("");
    setCopied(false);
    try {
      setCreated(await gateway(gatewayUrl).createApiKey(label.trim()));
      setLabel("");
      await load();
    } catch (err) {
      setError(err instanceof GatewayError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  /** Revokes a key; the focus moves to the next row's button (the row goes away), else the label. */
  async function revoke(k: ApiKey, row: number) {
    if (!confirm(`Revoke the key ${k.label || k.keyId}? Programs using it stop working at once.`)) return;
    try {
      await gateway(gatewayUrl).revokeApiKey(k.keyId);
      if (created?.keyId === k.keyId) setCreated(undefined);
      await load();
      refocusAfterRemoval('[data-testid="api-keys"] tr[data-key-id] button', row, "#key-label");
    } catch (err) {
      setError(err instanceof GatewayError ? err.message : String(err));
    }
  }

  if (!ready) return <p class="empty">Loading…</p>;
  if (!session) {
    return (
      <p class="panel empty">
        <a href="/login?next=/api-keys">Log in</a> to manage your API keys.
      </p>
    );
  }
  const active = (keys ?? []).filter((k) => !k.revokedAt);
  return (
    <>
      <section class="panel" aria-label="New API key">
        <form class="inline-form" onSubmit={create}>
          <div class="field grow">
            <label for="key-label">Label</label>
            <input
              id="key-label"
              name="label"
              maxLength={100}
              placeholder="e.g. market maker bot"
              value={label}
              onInput={(e) => setLabel((e.target as HTMLInputElement).value)}
            />
          </div>
          <ActionButton type="submit" class="btn primary" unavailable={busy}>
            {busy ? "Creating…" : "Create key"}
          </ActionButton>
        </form>
        {error && <p class="field-error" role="alert">{error}</p>}
        {created && (
          <div class="secret" role="status" data-testid="new-secret">
            <p>
              <strong>Copy the secret now: it is shown only once.</strong> A program sends the key id as{" "}
              <code>X-API-Key</code>, the time as <code>X-Timestamp</code>{" "}
              and an HMAC-SHA256 of the request, keyed with the secret, as <code>X-Signature</code>; the{" "}
              <a href={`${gatewayUrl.replace(/\/+$/, "")}/docs`}>API reference</a> has the details.
            </p>
            <dl>
              <div>
                <dt>Key id</dt>
                <dd>
                  <code>{created.keyId}</code>
                </dd>
              </div>
              <div>
                <dt>Secret</dt>
                <dd>
                  <code class="secret-value">{created.secret}</code>
                </dd>
              </div>
            </dl>
            <button
              type="button"
              class="btn small"
              onClick={async () => {
                await navigator.clipboard?.writeText(created.secret).catch(() => {});
                setCopied(true);
              }}
            >
              {copied ? "Copied" : "Copy secret"}
            </button>
          </div>
        )}
      </section>
      <section class="panel" aria-label="Your API keys">
        <div class="panel-head">
          <h2>Your keys</h2>
        </div>
        <div class="table-scroll">
          <table class="data" data-testid="api-keys">
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Key id</th>
                <th scope="col" class="hide-sm">Created</th>
                <th scope="col" class="hide-sm">Last used</th>
                <th scope="col">
                  <span class="sr-only">Revoke</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys === undefined && (
                <tr>
                  <td colSpan={5} class="empty">Loading…</td>
                </tr>
              )}
              {keys !== undefined && active.length === 0 && (
                <tr>
                  <td colSpan={5} class="empty">No active keys</td>
                </tr>
              )}
              {active.map((k, row) => (
                <tr key={k.keyId} data-key-id={k.keyId}>
                  <td>{k.label || <span class="muted">(no label)</span>}</td>
                  <td>
                    <code>{k.keyId}</code>
                  </td>
                  <td class="num hide-sm">{day(k.createdAt)}</td>
                  <td class="num hide-sm">{day(k.lastUsedAt)}</td>
                  <td class="num">
                    <button
                      type="button"
                      class="btn small danger"
                      onClick={() => revoke(k, row)}
                      aria-label={`Revoke ${k.label || k.keyId}`}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
