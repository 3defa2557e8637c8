import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  type AdminStatus,
  GatewayError,
  type Health,
  type Market,
  type SimStatus,
} from "../gateway_client.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { clock, gateway, useSession } from "../utils/live.ts";
import {
  botSetting,
  ensureProblem,
  MAX_BOT_RATE,
  MAX_BOTS,
  MAX_SIM_VOLATILITY,
  parseBounded,
  profileChoice,
} from "../utils/market.ts";
import { type MetricRow, parsePrometheus } from "../utils/prometheus.ts";
import { type KeyFigures, keyFigures, type StatusPoll } from "../utils/key_figures.ts";

function perSec(v: number | undefined): string {
  return v === undefined ? "—" : v >= 100 ? Math.round(v).toLocaleString() : v.toFixed(1);
}
function ms(v: number | undefined): string {
  return v === undefined ? "—" : `${(v * 1000).toFixed(1)} ms`;
}

export interface AdminPanelProps {
  gatewayUrl: string;
  markets: { symbol: string; status: string }[];
}

const PROFILES = ["calm", "normal", "volatile", "crash"];
const BOT_KINDS = ["marketMakers", "noiseTraders", "momentumTraders"];

/** One line for a nested value in a table cell: consumer groups read as "name: lag 0, pending 0". */
/**
 * A status value as text. Fractional numbers (a volatility of 0.00009682458365518541) keep four
 * significant digits: the status is read by people, and the API keeps the full value.
 */
function scalar(value: unknown): string {
  return typeof value === "number" && !Number.isInteger(value)
    ? String(Number(value.toPrecision(4)))
    : String(value);
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return value.map(inline).join("; ") || "none";
  if (value && typeof value === "object") {
    const { name, ...rest } = value as Record<string, unknown>;
    const fields = Object.entries(rest).map(([k, v]) =>
      `${k} ${typeof v === "object" ? inline(v) : scalar(v)}`
    );
    return name === undefined ? fields.join(", ") : `${String(name)}: ${fields.join(", ")}`;
  }
  return scalar(value);
}
const POLL_MS = 3000;
/** The simulator writes its status at least every 2 s; older than this, it is not reporting. */
const SIM_STALE_MS = 10_000;
/** How long a simulator control waits for the simulator's status to show it applied. */
const CONFIRM_MS = 6000;
/** The gateway metrics worth a glance: stream lag and throughput, engine replies, WebSocket clients. */
const METRICS_REGEXP = /(lag|stream_entries|engine_reply|ws_(clients|connections|subscriptions)|dead)/;

/** Renders any JSON value readably: arrays of objects and maps of objects become tables. */
function Value({ value }: { value: unknown }): ComponentChildren {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  if (typeof value !== "object") return <span class="num">{scalar(value)}</span>;
  const rows: [string, Record<string, unknown>][] | undefined = Array.isArray(value)
    ? value.every((v) => v && typeof v === "object" && !Array.isArray(v))
      ? value.map((v, i) => [String(i), v as Record<string, unknown>])
      : undefined
    : Object.values(value).every((v) => v && typeof v === "object" && !Array.isArray(v))
    ? Object.entries(value as Record<string, Record<string, unknown>>)
    : undefined;
  if (rows && rows.length) {
    const cols = [...new Set(rows.flatMap(([, r]) => Object.keys(r)))];
    return (
      <table class="data compact">
        <thead>
          <tr>
            {!Array.isArray(value) && <th scope="col">name</th>}
            {cols.map((c) => <th key={c} scope="col">{c}</th>)}
          </tr>
        </thead>
        <tbody>
          {rows.map(([k, r]) => (
            <tr>
              {!Array.isArray(value) && <th scope="row">{k}</th>}
              {cols.map((c) => (
                <td class={typeof r[c] === "number" ? "num" : ""}>
                  {typeof r[c] === "object" && r[c] !== null ? inline(r[c]) : scalar(r[c] ?? "")}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  if (Array.isArray(value)) return <span>{inline(value)}</span>;
  return (
    <dl class="kv">
      {Object.entries(value).map(([k, v]) => (
        <div>
          <dt>{k}</dt>
          <dd>
            <Value value={v} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

function Message({ ok, text }: { ok: boolean; text: string }) {
  return <p class={ok ? "ok-text" : "field-error"} role="status">{text}</p>;
}

/**
 * Simulation controls (start, stop, volatility profile), market pause/resume/ensure, bot counts, and
 * system status: the gateway's readiness checks and its admin status (stream lags), polled.
 */
export default function AdminPanel({ gatewayUrl, markets: initialMarkets }: AdminPanelProps) {
  const { session, ready } = useSession();
  const [sim, setSim] = useState<SimStatus | undefined>(undefined);
  const [system, setSystem] = useState<AdminStatus | undefined>(undefined);
  const [health, setHealth] = useState<Health | undefined>(undefined);
  const [metrics, setMetrics] = useState<MetricRow[] | undefined>(undefined);
  const [markets, setMarkets] = useState(initialMarkets);
  /** The profile picked in the form; until then the simulator's own is shown. */
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const [volatility, setVolatility] = useState("");
  const [newStartPrice, setNewStartPrice] = useState("");
  const [newSymbol, setNewSymbol] = useState("");
  const [botKind, setBotKind] = useState(BOT_KINDS[0]);
  const [botCount, setBotCount] = useState("");
  const [botRate, setBotRate] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  /** What is wrong with a form's input, by field, before anything is sent. */
  const [invalid, setInvalid] = useState<
    Partial<Record<"volatility" | "count" | "rate" | "symbol" | "startPrice", string>>
  >({});
  const [busy, setBusy] = useState(false);
  const [updated, setUpdated] = useState<number | undefined>(undefined);
  const [figures, setFigures] = useState<KeyFigures | undefined>(undefined);
  const lastPoll = useRef<StatusPoll | undefined>(undefined);
  const isAdmin = session?.user.role === "admin";
  const simSilentMs = sim?.ts !== undefined && updated !== undefined ? updated - sim.ts : 0;
  const simStale = simSilentMs > SIM_STALE_MS;

  async function refresh() {
    const gw = gateway(gatewayUrl);
    const [s, sys, h, m, text] = await Promise.allSettled([
      gw.simStatus(),
      gw.adminStatus(),
      gw.health(),
      gw.markets(),
      gw.metricsText(),
    ]);
    if (text.status === "fulfilled") setMetrics(parsePrometheus(text.value, (n) => METRICS_REGEXP.test(n)));
    if (s.status === "fulfilled") setSim(s.value);
    if (sys.status === "fulfilled") {
      setSystem(sys.value);
      const v = sys.value as { streams?: StatusPoll["streams"]; engine?: { commandsBehind?: number } };
      const poll: StatusPoll = {
        at: Date.now(),
        streams: v.streams ?? [],
        commandsBehind: v.engine?.commandsBehind ?? 0,
      };
      setFigures(keyFigures(lastPoll.current, poll, text.status === "fulfilled" ? text.value : ""));
      lastPoll.current = poll;
    }
    if (h.status === "fulfilled") setHealth(h.value);
    if (m.status === "fulfilled") {
      setMarkets(m.value.map((x: Market) => ({ symbol: x.symbol, status: x.status })));
    }
    setUpdated(Date.now());
  }

  useEffect(() => {
    if (!isAdmin) return;
    void refresh();
    const timer = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(timer);
  }, [gatewayUrl, isAdmin]);

  /**
   * Runs an admin call. With `applied`, the call only queues a control for the simulator: the
   * answer waits until the simulator's status shows it, and says so when it does not. With `listed`,
   * it waits until the market listing shows the change. The tables are read again before the
   * answer shows, so that they and the message agree. True when the gateway accepted the call.
   */
  async function act(
    what: string,
    call: () => Promise<unknown>,
    applied?: (s: SimStatus) => boolean,
    listed?: (m: Market[]) => boolean,
  ): Promise<boolean> {
    if (busy) return false;
    setBusy(true);
    setMessage(undefined);
    setInvalid({});
    try {
      await call();
      // a simulator control is "applied"; a market's pause or resume is done in the engine
      let answer = { ok: true, text: `${what}: ${applied && !listed ? "applied" : "done"}` };
      if (applied && !(await simConfirms(applied))) {
        answer = {
          ok: false,
          text: `${what}: sent, but the simulator has not shown it within ${CONFIRM_MS / 1000} s ` +
            "(it applies controls between steps; is it running? see its /healthz)",
        };
      } else if (listed && !(await listingConfirms(listed))) {
        answer = {
          ok: false,
          text: `${what}: sent, but the market listing has not shown it within ${CONFIRM_MS / 1000} s`,
        };
      }
      await refresh();
      setMessage(answer);
      return true;
    } catch (e) {
      setMessage({ ok: false, text: `${what}: ${e instanceof GatewayError ? e.message : String(e)}` });
      return false;
    } finally {
      setBusy(false);
    }
  }

  /** Polls until `check` holds or CONFIRM_MS pass; failed polls are retried. */
  async function confirms(check: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + CONFIRM_MS;
    while (Date.now() < deadline) {
      try {
        if (await check()) return true;
      } catch {
        // the next poll may answer
      }
      await new Promise((r) => setTimeout(r, 400));
    }
    return false;
  }

  function simConfirms(applied: (s: SimStatus) => boolean): Promise<boolean> {
    const sentAt = Date.now();
    return confirms(async () => {
      const s = await gateway(gatewayUrl).simStatus();
      // only a status the simulator wrote after the control counts (a second of clock leeway)
      if (s.ts === undefined || s.ts < sentAt - 1000 || !applied(s)) return false;
      setSim(s);
      return true;
    });
  }

  function listingConfirms(listed: (m: Market[]) => boolean): Promise<boolean> {
    return confirms(async () => {
      const m = await gateway(gatewayUrl).markets();
      if (!listed(m)) return false;
      setMarkets(m.map((x) => ({ symbol: x.symbol, status: x.status })));
      return true;
    });
  }

  /** Pauses or resumes a market; answers once the listing (and a running simulator) show it. */
  function setMarket(symbol: string, action: "pause" | "resume") {
    const paused = action === "pause";
    const simulating = sim?.running && !simStale && sim.symbols?.some((s) => s.symbol === symbol);
    return act(
      `${paused ? "Pause" : "Resume"} ${symbol}`,
      () => gateway(gatewayUrl).adminSymbol(symbol, action),
      simulating ? (s) => s.symbols?.find((x) => x.symbol === symbol)?.paused === paused : undefined,
      (m) => m.find((x) => x.symbol === symbol)?.status === (paused ? "PAUSED" : "TRADING"),
    );
  }

  /** A form's input problems; the section's earlier answer goes, so that only the new one shows. */
  function refuse(problems: typeof invalid) {
    setMessage(undefined);
    setInvalid(problems);
  }

  if (!ready) return <p class="empty">Loading…</p>;
  if (!session) {
    return (
      <p class="panel empty">
        <a href="/login?next=/admin">Log in</a> with an admin account.
      </p>
    );
  }
  if (!isAdmin) {
    return <p class="panel empty">This page is for administrators; {session.user.username} is not one.</p>;
  }
  const gw = gateway(gatewayUrl);
  const simBySymbol = new Map((sim?.symbols ?? []).map((s) => [s.symbol, s]));
  const shown = profileChoice(PROFILES, sim);
  // an answer shows under the section that asked
  const aboutMarkets = message !== undefined && /^(Ensure|Pause|Resume) /.test(message.text);
  const profile = picked ?? shown.value;
  /** An input's error text under it, tied to it for screen readers. */
  // the bot form shows what the simulator runs now for the chosen kind
  const botNow = botSetting(sim?.bots, botKind);
  const fieldError = (field: keyof typeof invalid) =>
    invalid[field] && (
      <span class="field-error" id={`admin-${field}-error`} role="alert">
        {invalid[field]}
      </span>
    );
  const describedBy = (field: keyof typeof invalid) =>
    invalid[field] ? { "aria-invalid": true, "aria-describedby": `admin-${field}-error` } : {};
  return (
    <div class="admin-grid">
      <section class="panel" aria-label="Simulation">
        <div class="panel-head">
          <h2>Simulation</h2>
          <span
            class={`tag ${sim?.running && !simStale ? "ok" : "warn"}`}
            data-testid="sim-running"
            title={simStale
              ? `no status from the simulator for ${Math.round(simSilentMs / 1000)} s`
              : undefined}
          >
            {sim === undefined ? "unknown" : simStale ? "not reporting" : sim.running ? "running" : "stopped"}
          </span>
        </div>
        <div class="button-row">
          <ActionButton
            class={sim?.running ? "btn" : "btn primary"}
            unavailable={busy}
            onClick={() => act("Start", () => gw.adminSim("start"), (s) => s.running)}
          >
            Start
          </ActionButton>
          <ActionButton
            class={sim?.running ? "btn primary" : "btn"}
            unavailable={busy}
            onClick={() => act("Stop", () => gw.adminSim("stop"), (s) => !s.running)}
          >
            Stop
          </ActionButton>
        </div>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act(
              "Volatility profile",
              () => gw.adminVolatility({ profile }),
              (s) => s.profile === profile,
            );
          }}
        >
          <label class="field">
            <span>Volatility profile</span>
            <select
              value={profile}
              data-testid="profile"
              onChange={(e) => setPicked((e.target as HTMLSelectElement).value)}
            >
              {shown.custom && (
                <option value="custom" disabled>
                  custom{sim?.volatility !== undefined ? ` (${scalar(sim.volatility)} per tick)` : ""}
                </option>
              )}
              {PROFILES.map((p) => <option key={p} value={p}>{p}</option>)}
            </select>
          </label>
          <ActionButton type="submit" class="btn" unavailable={busy || !PROFILES.includes(profile)}>
            Apply
          </ActionButton>
        </form>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const v = parseBounded(volatility, { min: 0, max: MAX_SIM_VOLATILITY });
            if (v.error || v.value === undefined) return refuse({ volatility: v.error });
            const value = v.value;
            void act(
              "Volatility",
              () => gw.adminVolatility({ volatility: value }),
              // the new value, not only a custom profile: a custom one may be in place already
              (s) =>
                s.profile === "custom" && s.volatility !== undefined &&
                Math.abs(s.volatility - value) <= 1e-9 * Math.max(value, 1e-12),
            ).then((ok) => ok && setPicked(undefined));
          }}
        >
          <label class="field">
            <span>Raw volatility per tick</span>
            <input
              inputMode="decimal"
              placeholder={sim?.volatility !== undefined
                ? String(Number(sim.volatility.toPrecision(3)))
                : "0.005"}
              value={volatility}
              {...describedBy("volatility")}
              onInput={(e) => setVolatility((e.target as HTMLInputElement).value)}
            />
            {fieldError("volatility")}
          </label>
          <ActionButton type="submit" class="btn" unavailable={busy || volatility.trim() === ""}>
            Set
          </ActionButton>
        </form>
        <form
          class="inline-form"
          aria-label="Bots"
          onSubmit={(e) => {
            e.preventDefault();
            const count = parseBounded(botCount, { min: 0, max: MAX_BOTS, integer: true });
            const rate = parseBounded(botRate, { min: 0, max: MAX_BOT_RATE });
            if (count.error || rate.error) return refuse({ count: count.error, rate: rate.error });
            const body: { kind: string; count?: number; ratePerSec?: number } = { kind: botKind };
            if (count.value !== undefined) body.count = count.value;
            if (rate.value !== undefined) body.ratePerSec = rate.value;
            void act("Bots", () => gw.adminBots(body));
          }}
        >
          <label class="field">
            <span>Bots</span>
            <select value={botKind} onChange={(e) => setBotKind((e.target as HTMLSelectElement).value)}>
              {BOT_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
            </select>
          </label>
          <label class="field">
            <span>Count</span>
            <input
              inputMode="numeric"
              placeholder={String(botNow.count ?? "")}
              size={4}
              value={botCount}
              {...describedBy("count")}
              onInput={(e) => setBotCount((e.target as HTMLInputElement).value)}
            />
            {fieldError("count")}
          </label>
          <label class="field">
            <span>Orders/s each</span>
            <input
              inputMode="decimal"
              placeholder={String(botNow.ratePerSec ?? "")}
              size={4}
              value={botRate}
              {...describedBy("rate")}
              onInput={(e) => setBotRate((e.target as HTMLInputElement).value)}
            />
            {fieldError("rate")}
          </label>
          <ActionButton
            type="submit"
            class="btn"
            unavailable={busy || (botCount.trim() === "" && botRate.trim() === "")}
          >
            Set
          </ActionButton>
        </form>
        <dl class="kv">
          <div>
            <dt>Profile</dt>
            <dd>{sim?.profile ?? "—"}</dd>
          </div>
          <div>
            <dt>Bots</dt>
            <dd data-testid="bots" class="table-scroll">
              <Value value={sim?.bots} />
            </dd>
          </div>
        </dl>
        {message && !aboutMarkets && <Message {...message} />}
      </section>

      <section class="panel" aria-label="Markets">
        <div class="panel-head">
          <h2>Markets</h2>
        </div>
        <div class="table-scroll">
          <table class="data">
            <thead>
              <tr>
                <th scope="col">Symbol</th>
                <th scope="col">Trading</th>
                <th scope="col" class="hide-xs">Simulated</th>
                <th scope="col" class="num">Sim price</th>
                <th scope="col" class="hide-xs">Regime</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {markets.map((m) => {
                const s = simBySymbol.get(m.symbol);
                const paused = m.status !== "TRADING" || s?.paused;
                // a stopped simulator runs no market, whatever its last per-market flags say
                const simulated = !s ? "—" : !sim?.running ? "stopped" : s.paused ? "paused" : "running";
                return (
                  <tr key={m.symbol} data-symbol={m.symbol}>
                    <th scope="row">
                      <a href={`/trade/${m.symbol}`}>{m.symbol}</a>
                    </th>
                    <td>{m.status.toLowerCase()}</td>
                    <td class="hide-xs">{simulated}</td>
                    <td class="num">{s?.price ?? "—"}</td>
                    <td class="hide-xs">{s?.regime ?? "—"}</td>
                    <td class="num">
                      <ActionButton
                        class="btn small"
                        unavailable={busy}
                        onClick={() => setMarket(m.symbol, paused ? "resume" : "pause")}
                      >
                        {paused ? "Resume" : "Pause"}
                      </ActionButton>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const symbol = newSymbol.trim().toUpperCase();
            const startPrice = newStartPrice.trim();
            const problem = ensureProblem(symbol, startPrice, markets.map((m) => m.symbol));
            if (problem) return refuse({ [problem.field]: problem.message });
            // the fields keep what was typed unless the market was listed
            void act(
              `Ensure ${symbol}`,
              () => gw.adminSymbol(symbol, "ensure", startPrice ? { startPrice } : {}),
            ).then((ok) => {
              if (!ok) return;
              setNewSymbol("");
              setNewStartPrice("");
            });
          }}
        >
          <label class="field">
            <span>List or re-open a market</span>
            <input
              placeholder="SOL-USD"
              value={newSymbol}
              {...describedBy("symbol")}
              onInput={(e) => setNewSymbol((e.target as HTMLInputElement).value)}
            />
            {fieldError("symbol")}
          </label>
          <label class="field">
            <span>Start price (new markets)</span>
            <input
              inputMode="decimal"
              placeholder="empty: implied by the listed markets"
              title="Leave empty to start at the price the listed markets imply; a new asset needs one"
              value={newStartPrice}
              {...describedBy("startPrice")}
              onInput={(e) => setNewStartPrice((e.target as HTMLInputElement).value)}
            />
            {fieldError("startPrice")}
          </label>
          <ActionButton type="submit" class="btn" unavailable={busy || !newSymbol.trim()}>
            Ensure
          </ActionButton>
        </form>
        {message && aboutMarkets && <Message {...message} />}
      </section>

      <section class="panel wide" aria-label="System status">
        <div class="panel-head">
          <h2>System status</h2>
          <span class="muted small">
            {updated ? `updated ${clock(updated, true)}` : ""}
          </span>
        </div>
        {figures && (
          <dl class="key-figures" data-testid="key-figures">
            <div>
              <dt>Commands/s</dt>
              <dd class="num">{perSec(figures.commandsPerSec)}</dd>
            </div>
            <div>
              <dt>Trades/s</dt>
              <dd class="num">{perSec(figures.tradesPerSec)}</dd>
            </div>
            <div>
              <dt>Order latency p50 / p99</dt>
              <dd class="num">{ms(figures.orderP50)} / {ms(figures.orderP99)}</dd>
            </div>
            <div>
              <dt>Largest consumer lag</dt>
              <dd class="num">
                {figures.maxLag
                  ? (
                    <>
                      {figures.maxLag.lag}
                      <small>{figures.maxLag.group} on {figures.maxLag.stream}</small>
                    </>
                  )
                  : "—"}
              </dd>
            </div>
            <div>
              <dt>Commands behind the engine</dt>
              <dd class="num">{figures.commandsBehind}</dd>
            </div>
          </dl>
        )}
        {health && (
          <>
            <h3>
              Gateway readiness{" "}
              <span class={`tag ${health.status === "ok" ? "ok" : "warn"}`}>{health.status}</span>
            </h3>
            <div class="table-scroll">
              <table class="data compact" data-testid="health">
                <thead>
                  <tr>
                    <th scope="col">check</th>
                    <th scope="col">state</th>
                    <th scope="col">detail</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(health.checks).map(([name, c]) => (
                    <tr>
                      <th scope="row">{name}</th>
                      <td class={c.ok ? "buy" : "sell"}>{c.ok ? "ok" : "failing"}</td>
                      <td>{c.error ?? (c.detail !== undefined ? <Value value={c.detail} /> : "")}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
        {system && (
          <>
            <h3>Services and streams</h3>
            <div class="table-scroll" data-testid="system-status">
              <Value value={system} />
            </div>
          </>
        )}
        {metrics && metrics.length > 0 && (
          <>
            <h3>Gateway streams and lags</h3>
            <div class="table-scroll">
              <table class="data compact" data-testid="metrics">
                <thead>
                  <tr>
                    <th scope="col">metric</th>
                    <th scope="col">labels</th>
                    <th scope="col" class="num">value / mean</th>
                    <th scope="col" class="num">count</th>
                  </tr>
                </thead>
                <tbody>
                  {metrics.map((r) => (
                    <tr key={r.name + r.labels}>
                      <th scope="row">{r.name.replace(/^kalency_/, "")}</th>
                      <td class="mono muted">{r.labels}</td>
                      <td class="num">
                        {r.kind === "histogram"
                          ? r.name.endsWith("_seconds")
                            ? `${(r.value * 1000).toFixed(2)} ms`
                            : r.value.toFixed(3)
                          : r.value}
                      </td>
                      <td class="num">{r.count ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
        {!health && !system && <p class="empty">Waiting for the first status…</p>}
      </section>
    </div>
  );
}
