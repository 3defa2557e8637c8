import { useEffect, useRef, useState } from "preact/hooks";
import type uPlot from "uplot";
import { CandleSvg } from "../components/CandleSvg.tsx";
import { Candle, type Candle as CandleT, parsePayload } from "../gateway_client.ts";
import {
  type Bar,
  CHART_RANGES,
  CHART_TIMEFRAMES,
  type ChartRange,
  type ChartTimeframe,
  mergeBars,
  TIME_AXIS_STAMPS,
  toBar,
  toColumns,
  viewWindow,
} from "../utils/candles.ts";
import { decimalPlaces } from "../utils/decimal.ts";
import { chartTimeframe, dayClock, gateway, marketSocket } from "../utils/live.ts";
import { followWithCatchUp } from "../utils/catch_up.ts";

export type BarStyle = "candles" | "bars" | "line";

export interface CandleChartProps {
  gatewayUrl: string;
  symbol: string;
  base: string;
  tickSize: string;
  tf: ChartTimeframe;
  range?: ChartRange;
  candles: CandleT[];
}

const PAGE = 500;
/** Bars in the default view, at most and at least. */
const VIEW_BARS = 100;
const MIN_VIEW_BARS = 30;
const STYLES: [BarStyle, string][] = [["candles", "Candles"], ["bars", "OHLC bars"], ["line", "Line"]];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/**
 * Width of the price axis: its longest label as the canvas measures it, plus the tick and a gap,
 * so labels such as "65040.00" are never cut at the right edge. Fixed after uPlot's first pass.
 */
function priceAxisSize(u: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = u.axes[axisIdx] as uPlot.Axis & { _size?: number; font?: unknown };
  if (cycleNum > 1 && axis._size) return axis._size;
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), "");
  if (longest === "") return 70;
  const font = Array.isArray(axis.font) ? String(axis.font[0]) : "12px system-ui";
  u.ctx.font = font;
  return Math.max(60, Math.ceil(u.ctx.measureText(longest).width / devicePixelRatio) + 22);
}

/** Paints candles, OHLC bars or a close line, and volume on its own scale, clipped to the plot. */
function pricePlugin(opts: { style: () => BarStyle; volume: () => boolean }): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const [xs, o, h, l, c, v] = u.data as unknown as number[][];
        if (!xs.length) return;
        const ctx = u.ctx;
        const up = cssVar("--buy", "#0ecb81"), down = cssVar("--sell", "#f6465d");
        const { left, top, width, height } = u.bbox;
        const i0 = Math.max(0, u.valToIdx(u.scales.x.min!) - 1);
        const i1 = Math.min(xs.length - 1, u.valToIdx(u.scales.x.max!) + 1);
        const barSpace = xs.length > 1
          ? Math.abs(u.valToPos(xs[1], "x", true) - u.valToPos(xs[0], "x", true))
          : 8;
        const bodyW = Math.max(1, Math.min(24 * devicePixelRatio, barSpace * 0.7));
        ctx.save();
        ctx.beginPath();
        ctx.rect(left, top, width, height);
        ctx.clip();
        if (opts.volume()) {
          const base = u.valToPos(0, "vol", true);
          ctx.globalAlpha = 0.35;
          for (let i = i0; i <= i1; i++) {
            const x = u.valToPos(xs[i], "x", true);
            const y = u.valToPos(v[i], "vol", true);
            ctx.fillStyle = c[i] >= o[i] ? up : down;
            ctx.fillRect(Math.round(x - bodyW / 2), y, Math.max(1, Math.round(bodyW)), base - y);
          }
          ctx.globalAlpha = 1;
        }
        const style = opts.style();
        if (style === "line") {
          ctx.strokeStyle = cssVar("--accent", "#f0b90b");
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.beginPath();
          for (let i = i0; i <= i1; i++) {
            const x = u.valToPos(xs[i], "x", true), y = u.valToPos(c[i], "y", true);
            if (i === i0) ctx.moveTo(x, y);
            else ctx.lineTo(x, y);
          }
          ctx.stroke();
          if (i1 === i0) {
            // one bar in view has no line to draw: mark its close with a dot
            ctx.fillStyle = ctx.strokeStyle;
            ctx.beginPath();
            const x = u.valToPos(xs[i0], "x", true), y = u.valToPos(c[i0], "y", true);
            ctx.arc(x, y, 2.5 * devicePixelRatio, 0, 2 * Math.PI);
            ctx.fill();
          }
        } else {
          ctx.lineWidth = Math.max(1, devicePixelRatio);
          for (let i = i0; i <= i1; i++) {
            const x = Math.round(u.valToPos(xs[i], "x", true));
            const colour = c[i] >= o[i] ? up : down;
            ctx.strokeStyle = colour;
            ctx.fillStyle = colour;
            const yo = u.valToPos(o[i], "y", true), yc = u.valToPos(c[i], "y", true);
            const yh = u.valToPos(h[i], "y", true), yl = u.valToPos(l[i], "y", true);
            ctx.beginPath();
            ctx.moveTo(x, yh);
            ctx.lineTo(x, yl);
            if (style === "bars") {
              ctx.moveTo(x - bodyW / 2, yo);
              ctx.lineTo(x, yo);
              ctx.moveTo(x, yc);
              ctx.lineTo(x + bodyW / 2, yc);
              ctx.stroke();
            } else {
              ctx.stroke();
              const yTop = Math.min(yo, yc);
              ctx.fillRect(
                Math.round(x - bodyW / 2),
                yTop,
                Math.round(bodyW),
                Math.max(1, Math.abs(yc - yo)),
              );
            }
          }
        }
        ctx.restore();
      },
    },
  };
}

interface Legend {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
}

/**
 * The candlestick chart: uPlot with a draw-hook plugin, volume on a second scale, live updates of the
 * forming candle from `candles.{symbol}.{tf}`, older history fetched (`to=`) as the view reaches the
 * oldest loaded bar. Wheel or +/- zooms, drag or arrow keys pan, double-click or Home resets.
 */
export default function CandleChart(props: CandleChartProps) {
  const { gatewayUrl, symbol, tickSize } = props;
  const [tf, setTf] = useState<ChartTimeframe>(props.tf);
  const [range, setRange] = useState<ChartRange | undefined>(props.range);
  const [style, setStyle] = useState<BarStyle>("candles");
  const [volume, setVolume] = useState(true);
  const [mounted, setMounted] = useState(false);
  const [legend, setLegend] = useState<Legend | undefined>(undefined);
  const [note, setNote] = useState("");
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const bars = useRef<Bar[]>(props.candles.map(toBar));
  const styleRef = useRef(style), volumeRef = useRef(volume);
  const paging = useRef({ loading: false, exhausted: false });
  const initialBars = useRef(bars.current);
  const places = decimalPlaces(tickSize);

  // The chart's event handlers are created once; they read the current settings through refs.
  const tfRef = useRef(tf), rangeRef = useRef(range);
  styleRef.current = style;
  volumeRef.current = volume;
  tfRef.current = tf;
  rangeRef.current = range;

  // Create the chart once; uPlot touches the DOM, so it only ever runs in the browser.
  useEffect(() => {
    let disposed = false;
    let resize: ResizeObserver | undefined;
    let palette: MutationObserver | undefined;
    (async () => {
      const { default: UPlot } = await import("uplot");
      if (disposed || !box.current) return;
      const el = box.current;
      const muted = cssVar("--muted", "#848e9c"), grid = cssVar("--grid", "#1e2329");
      const opts: uPlot.Options = {
        width: el.clientWidth || 600,
        height: el.clientHeight || 360,
        pxAlign: 0,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        scales: {
          x: { time: true },
          // Pad the price range; a flat series gets a small band instead of uPlot's zero-based one.
          y: {
            range: (_u, min, max) => {
              if (min === null || max === null) return [0, 1];
              const pad = (max - min) * 0.08 || Math.abs(max) * 0.002 || 1;
              return [min - pad, max + pad];
            },
          },
          // Volume uses the bottom fifth of the plot.
          vol: { range: (_u, _min, max) => [0, Math.max(1e-9, max) * 5] },
        },
        series: [
          {},
          { label: "Open", scale: "y", paths: () => null, points: { show: false } },
          { label: "High", scale: "y", paths: () => null, points: { show: false } },
          { label: "Low", scale: "y", paths: () => null, points: { show: false } },
          { label: "Close", scale: "y", paths: () => null, points: { show: false } },
          { label: "Volume", scale: "vol", paths: () => null, points: { show: false } },
        ],
        axes: [
          // 90 px between time labels: a full date-and-time label no longer runs into the next one
          {
            stroke: muted,
            grid: { stroke: grid, width: 1 },
            ticks: { stroke: grid },
            space: 90,
            values: TIME_AXIS_STAMPS,
          },
          {
            scale: "y",
            side: 1,
            size: priceAxisSize,
            stroke: muted,
            grid: { stroke: grid, width: 1 },
            ticks: { stroke: grid },
            values: (_u, splits) => splits.map((s) => s.toFixed(places)),
          },
        ],
        plugins: [pricePlugin({ style: () => styleRef.current, volume: () => volumeRef.current })],
        hooks: {
          setCursor: [(u) => {
            const i = u.cursor.idx;
            const d = u.data as unknown as number[][];
            const at = i ?? d[0].length - 1;
            if (at < 0 || at >= d[0].length) return setLegend(undefined);
            setLegend({ t: d[0][at], o: d[1][at], h: d[2][at], l: d[3][at], c: d[4][at], v: d[5][at] });
          }],
          setScale: [(_u, key) => {
            if (key === "x") void loadOlder();
          }],
        },
      };
      const u = new UPlot(opts, toColumns(bars.current) as uPlot.AlignedData, el);
      plot.current = u;
      setMounted(true);
      showRange(props.range);
      const last = bars.current.at(-1);
      if (last) setLegend({ ...last });
      resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: el.clientHeight }));
      resize.observe(el);
      palette = new MutationObserver(() => u.redraw(false));
      palette.observe(document.documentElement, { attributes: true, attributeFilter: ["data-palette"] });
      attachPanZoom(u);
    })();
    return () => {
      disposed = true;
      resize?.disconnect();
      palette?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => plot.current?.redraw(false), [style, volume]);

  // Live candles of the current timeframe. Each subscription, the first too, refetches the recent
  // ones: bars that closed between the page's render (or a disconnection) and it come on no channel.
  useEffect(
    () =>
      followWithCatchUp(
        marketSocket(gatewayUrl),
        `candles.${symbol}.${tf}`,
        () => void refetchLatest(),
        (m) => {
          const list = Array.isArray(m.data) ? m.data : [m.data];
          const incoming: Bar[] = [];
          for (const item of list) {
            const candle = parsePayload(Candle, item);
            if (candle && (!candle.timeframe || candle.timeframe === tf)) {
              incoming.push(toBar(candle));
            }
          }
          if (incoming.length) {
            update(mergeBars(bars.current, incoming, CHART_TIMEFRAMES[tf] / 1000), true);
          }
        },
      ),
    [gatewayUrl, symbol, tf],
  );

  /** Replaces the data, keeping the view; when the view showed the newest bar, it keeps following. */
  function update(next: Bar[], follow: boolean) {
    const u = plot.current;
    const prevLast = bars.current.at(-1)?.t;
    bars.current = next;
    if (!u) return;
    const { min, max } = u.scales.x;
    u.setData(toColumns(next) as uPlot.AlignedData, false);
    const last = next.at(-1)?.t;
    if (follow && min !== undefined && max !== undefined && prevLast !== undefined && last !== undefined) {
      if (max >= prevLast && last > prevLast) {
        u.setScale("x", { min: min + (last - prevLast), max: max + (last - prevLast) });
      } else u.redraw();
    } else if (min === undefined || max === undefined || !Number.isFinite(min)) {
      showRange(rangeRef.current);
    } else {
      u.redraw();
    }
    if (u.cursor.idx === null && last !== undefined) {
      const b = next[next.length - 1];
      setLegend({ ...b });
    }
  }

  /** Shows the chosen range (or the last 120 bars) ending at the newest bar. */
  function showRange(r: ChartRange | undefined) {
    const u = plot.current;
    const list = bars.current;
    if (!u || list.length === 0) return;
    const tfSec = CHART_TIMEFRAMES[tfRef.current] / 1000;
    const last = list[list.length - 1].t;
    // A young market fills the view instead of sitting in a corner of it.
    const count = Math.min(VIEW_BARS, Math.max(MIN_VIEW_BARS, list.length + 3));
    const span = r ? CHART_RANGES[r] / 1000 : count * tfSec;
    u.setScale("x", viewWindow(last, tfSec, span));
  }

  async function refetchLatest() {
    try {
      const forTf = tfRef.current;
      const fresh = await gateway(gatewayUrl).candles(symbol, { tf: forTf, limit: PAGE });
      if (forTf === tfRef.current) update(mergeBars(bars.current, fresh.map(toBar)), true);
    } catch {
      // the next live candle fills in
    }
  }

  /** Fetches bars older than the oldest loaded one while the view reaches past it. */
  async function loadOlder() {
    const u = plot.current;
    const h = paging.current;
    const first = bars.current[0];
    if (!u || !first || h.loading || h.exhausted) return;
    const forTf = tfRef.current;
    const tfSec = CHART_TIMEFRAMES[forTf] / 1000;
    if ((u.scales.x.min ?? Infinity) > first.t + 10 * tfSec) return;
    h.loading = true;
    setNote("Loading older candles…");
    try {
      const older = await gateway(gatewayUrl).candles(symbol, {
        tf: forTf,
        to: first.t * 1000 - 1,
        limit: PAGE,
      });
      if (forTf !== tfRef.current || h !== paging.current) return;
      const fresh = older.map(toBar).filter((b) => b.t < first.t);
      if (fresh.length === 0) h.exhausted = true;
      else update(mergeBars(bars.current, fresh), false);
      setNote(h.exhausted ? "Start of history" : "");
    } catch (e) {
      setNote(`Could not load older candles: ${(e as Error).message}`);
    } finally {
      h.loading = false;
    }
    if (!h.exhausted && viewStartsBeforeData()) void loadOlder();
  }

  function viewStartsBeforeData(): boolean {
    const u = plot.current, first = bars.current[0];
    return !!u && !!first && (u.scales.x.min ?? Infinity) < first.t;
  }

  function zoom(factor: number, anchor?: number) {
    const u = plot.current;
    if (!u) return;
    const { min, max } = u.scales.x;
    if (min === undefined || max === undefined) return;
    const at = anchor ?? max;
    const tfSec = CHART_TIMEFRAMES[tfRef.current] / 1000;
    const nextMin = at - (at - min) * factor, nextMax = at + (max - at) * factor;
    if (nextMax - nextMin < tfSec * 5) return;
    u.setScale("x", { min: nextMin, max: nextMax });
  }

  function pan(fraction: number) {
    const u = plot.current;
    if (!u) return;
    const { min, max } = u.scales.x;
    if (min === undefined || max === undefined) return;
    const d = (max - min) * fraction;
    u.setScale("x", { min: min + d, max: max + d });
  }

  function attachPanZoom(u: uPlot) {
    const over = u.over;
    over.addEventListener("wheel", (e) => {
      e.preventDefault();
      const rect = over.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 0.85 : 1 / 0.85, u.posToVal(e.clientX - rect.left, "x"));
    }, { passive: false });
    let dragX: number | undefined;
    over.addEventListener("pointerdown", (e) => {
      dragX = e.clientX;
      over.setPointerCapture(e.pointerId);
    });
    over.addEventListener("pointermove", (e) => {
      if (dragX === undefined) return;
      const { min, max } = u.scales.x;
      if (min === undefined || max === undefined) return;
      const dx = e.clientX - dragX;
      if (Math.abs(dx) < 2) return;
      dragX = e.clientX;
      const perPx = (max - min) / over.clientWidth;
      u.setScale("x", { min: min - dx * perPx, max: max - dx * perPx });
    });
    const end = () => dragX = undefined;
    over.addEventListener("pointerup", end);
    over.addEventListener("pointercancel", end);
    over.addEventListener("dblclick", () => showRange(rangeRef.current));
  }

  function onKey(e: KeyboardEvent) {
    const actions: Record<string, () => void> = {
      ArrowLeft: () => pan(-0.1),
      ArrowRight: () => pan(0.1),
      "+": () => zoom(0.8),
      "=": () => zoom(0.8),
      "-": () => zoom(1.25),
      Home: () => showRange(rangeRef.current),
    };
    const act = actions[e.key];
    if (act) {
      e.preventDefault();
      act();
    }
  }

  async function switchTf(next: ChartTimeframe, e?: Event) {
    e?.preventDefault();
    if (next === tfRef.current) return;
    tfRef.current = next;
    setTf(next);
    chartTimeframe.set(next);
    const url = new URL(location.href);
    url.searchParams.set("tf", next);
    globalThis.history.replaceState(null, "", url);
    historyReset();
    setNote("Loading…");
    try {
      const fresh = await gateway(gatewayUrl).candles(symbol, { tf: next, limit: PAGE });
      if (next !== tfRef.current) return;
      bars.current = fresh.map(toBar);
      initialBars.current = bars.current;
      plot.current?.setData(toColumns(bars.current) as uPlot.AlignedData, true);
      // the legend shows the new series' newest bar (or none), not the last timeframe's
      const last = bars.current.at(-1);
      setLegend(last ? { ...last } : undefined);
      setNote(bars.current.length ? "" : "No trades yet in this timeframe.");
      showRange(rangeRef.current);
    } catch (err) {
      setNote(`Could not load candles: ${(err as Error).message}`);
    }
  }

  function historyReset() {
    paging.current = { loading: false, exhausted: false };
  }

  function chooseRange(r: ChartRange | undefined) {
    setRange(r);
    rangeRef.current = r;
    showRange(r);
    const url = new URL(location.href);
    if (r) url.searchParams.set("range", r);
    else url.searchParams.delete("range");
    globalThis.history.replaceState(null, "", url);
  }

  const fmt = (n: number | undefined) => n === undefined ? "—" : n.toFixed(places);
  const lg = legend ?? initialBars.current.at(-1);
  return (
    <section class="panel chart-panel" aria-label={`${symbol} chart`}>
      <div class="chart-toolbar" role="toolbar" aria-label="Chart settings">
        <span class="muted small" id="chart-tf-label">Bar size</span>
        <div class="seg" role="group" aria-labelledby="chart-tf-label">
          {(Object.keys(CHART_TIMEFRAMES) as ChartTimeframe[]).map((t) => (
            <a
              href={`?tf=${t}`}
              class={t === tf ? "on" : ""}
              aria-current={t === tf ? "true" : undefined}
              aria-label={`${t} bars`}
              onClick={(e) => switchTf(t, e)}
              data-tf={t}
            >
              {t}
            </a>
          ))}
        </div>
        <span class="muted small" id="chart-range-label">Range</span>
        <div class="seg" role="group" aria-labelledby="chart-range-label">
          {(Object.keys(CHART_RANGES) as ChartRange[]).map((r) => (
            <button
              type="button"
              class={r === range ? "on" : ""}
              aria-pressed={r === range}
              aria-label={`Last ${r}`}
              onClick={() => chooseRange(r === range ? undefined : r)}
              data-range={r}
            >
              {r}
            </button>
          ))}
        </div>
        <label class="select">
          <span class="sr-only">Bar style</span>
          <select value={style} onChange={(e) => setStyle((e.target as HTMLSelectElement).value as BarStyle)}>
            {STYLES.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
          </select>
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={volume}
            onChange={(e) => setVolume((e.target as HTMLInputElement).checked)}
          />
          Volume
        </label>
      </div>
      <div class="chart-legend num" aria-live="off">
        {lg
          ? (
            <>
              <span>
                {/* the server renders UTC; once mounted, local time as everywhere else in the app */}
                {dayClock(lg.t * 1000, mounted)}
              </span>
              <span>
                O <b>{fmt(lg.o)}</b>
              </span>
              <span>
                H <b>{fmt(lg.h)}</b>
              </span>
              <span>
                L <b>{fmt(lg.l)}</b>
              </span>
              <span>
                C <b class={lg.c >= lg.o ? "buy" : "sell"}>{fmt(lg.c)}</b>
              </span>
              <span>
                V <b>{lg.v.toFixed(4)}</b> {props.base}
              </span>
            </>
          )
          : <span class="muted">No candles yet</span>}
        {note && <span class="muted note">{note}</span>}
      </div>
      <div
        class="chart-box"
        ref={box}
        tabIndex={0}
        onKeyDown={onKey}
        // it takes the arrow keys itself, so screen readers pass them through
        role="application"
        aria-label="Price chart. Arrow keys pan, plus and minus zoom, Home resets."
        data-mounted={mounted ? "true" : "false"}
      >
        {!mounted && <CandleSvg bars={initialBars.current} />}
      </div>
    </section>
  );
}
