import type { Bar } from "../utils/candles.ts";

/**
 * A static candlestick drawing for the server-rendered first paint (and browsers without
 * JavaScript); the chart island replaces it with the interactive uPlot chart.
 */
export function CandleSvg({ bars, height = 360 }: { bars: Bar[]; height?: number }) {
  const shown = bars.slice(-120);
  if (shown.length === 0) {
    return <div class="chart-empty">No trades yet in this timeframe.</div>;
  }
  const width = 1000;
  const priceH = height * 0.78, volTop = height * 0.8, volH = height * 0.2;
  const hi = Math.max(...shown.map((b) => b.h)), lo = Math.min(...shown.map((b) => b.l));
  const maxV = Math.max(...shown.map((b) => b.v)) || 1;
  const span = hi - lo || 1;
  // At least 30 slots, newest on the right, as the interactive chart lays out a young market.
  const slots = Math.max(shown.length, 30);
  const step = width / slots;
  const offset = slots - shown.length;
  const y = (p: number) => 4 + (priceH - 8) * (1 - (p - lo) / span);
  return (
    <svg
      class="candle-svg"
      viewBox={`0 0 ${width} ${height}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={`Price chart, ${shown.length} candles, last close ${shown[shown.length - 1].c}`}
    >
      {shown.map((b, i) => {
        const x = (offset + i) * step + step / 2;
        const up = b.c >= b.o;
        const top = y(Math.max(b.o, b.c)), bottom = y(Math.min(b.o, b.c));
        const vh = (b.v / maxV) * volH;
        return (
          <g class={up ? "up" : "down"} key={b.t}>
            <line x1={x} x2={x} y1={y(b.h)} y2={y(b.l)} />
            <rect
              x={x - step * 0.35}
              width={Math.max(1, step * 0.7)}
              y={top}
              height={Math.max(1, bottom - top)}
            />
            <rect
              class="vol"
              x={x - step * 0.35}
              width={Math.max(1, step * 0.7)}
              y={volTop + volH - vh}
              height={vh}
            />
          </g>
        );
      })}
    </svg>
  );
}
